"""The protocol peers, exercised over real sockets by the clients the project uses.

The Postmark tests double as the record of how each Postmark failure surfaces through
django-anymail, which the delivery code relies on to tell transient from permanent
errors:

| peer failure            | HTTP | anymail raises                     | tells                                      |
|-------------------------|------|------------------------------------|--------------------------------------------|
| wrong token             | 401  | AnymailRequestsAPIError            | .status_code == 401                        |
| "rate_limited"          | 429  | AnymailRequestsAPIError            | .status_code == 429, Retry-After header    |
| "server_error"          | 500  | AnymailRequestsAPIError            | .status_code == 500                        |
| "inactive_recipient"    | 422  | AnymailRecipientsRefused (406)     | message.anymail_status.status {"rejected"} |
| "invalid"               | 422  | AnymailRequestsAPIError (300)      | .status_code == 422                        |
| "invalid_recipient"     | 422  | AnymailRecipientsRefused (300)     | message.anymail_status.status {"invalid"}  |
| no answer before timeout| -    | AnymailRequestsAPIError + Timeout  | .status_code is None; the peer accepted it |
"""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from anymail.exceptions import AnymailRecipientsRefused, AnymailRequestsAPIError
from django.core import mail

from peers.postmark import PostmarkPeer
from peers.recording import RecordingHTTPServer, Reply
from peers.smtp import SMTPPeer

ROOT = Path(__file__).resolve().parent.parent


def alert_email(*to: str, **kwargs) -> mail.EmailMultiAlternatives:
    message = mail.EmailMultiAlternatives(
        subject="Price drop: Road bike",
        body="Now $499.",
        from_email="Deal Alerts <alerts@dealalerts.local>",
        to=list(to or ["shopper@example.com"]),
        headers={"List-Unsubscribe": "<https://dealalerts.local/u/abc>"},
        **kwargs,
    )
    message.attach_alternative("<p>Now <b>$499</b>.</p>", "text/html")
    return message


# --- RecordingHTTPServer ------------------------------------------------------------------


def test_http_peer_records_json_form_and_headers(http_peer: RecordingHTTPServer):
    assert http_peer.url.startswith("http://127.0.0.1:")
    response = requests.post(f"{http_peer.url}/hook?x=1", json={"a": 1}, headers={"X-Token": "t"}, timeout=5)
    assert (response.status_code, response.json()) == (200, {})
    requests.post(f"{http_peer.url}/sms", data={"To": "+15550100", "Body": "hi"}, timeout=5)

    hook, sms = http_peer.wait_for(2)
    assert (hook.method, hook.path, hook.route) == ("POST", "/hook?x=1", "/hook")
    assert hook.headers["x-token"] == hook.headers["X-TOKEN"] == "t"
    assert (hook.json, hook.form, hook.body) == ({"a": 1}, None, b'{"a": 1}')
    assert (sms.json, sms.form) == (None, {"To": "+15550100", "Body": "hi"})


def test_http_peer_reads_a_chunked_body(http_peer: RecordingHTTPServer):
    requests.post(http_peer.url, data=iter([b"abc", b"defg"]), timeout=5)  # a generator goes out chunked
    [recorded] = http_peer.wait_for(1)
    assert recorded.headers["Transfer-Encoding"] == "chunked"
    assert recorded.body == b"abcdefg"


def test_scripted_replies_are_used_once_in_order_per_prefix(http_peer: RecordingHTTPServer):
    http_peer.script("/push", Reply(410, "gone"), Reply(201, b"\x00", headers={"Content-Type": "x/y", "X-A": "1"}))
    http_peer.script(None, Reply(503, {"busy": True}))

    with requests.Session() as session:  # one kept-alive connection throughout
        first = session.post(f"{http_peer.url}/push/1", timeout=5)
        other = session.get(f"{http_peer.url}/elsewhere", timeout=5)
        second = session.post(f"{http_peer.url}/push/2", timeout=5)
        third = session.post(f"{http_peer.url}/push/3", timeout=5)

    assert (first.status_code, first.text, first.headers["Content-Type"]) == (410, "gone", "text/plain; charset=utf-8")
    assert (other.status_code, other.json()) == (503, {"busy": True})
    assert (second.status_code, second.content, second.headers["Content-Type"], second.headers["X-A"]) == (
        201,
        b"\x00",
        "x/y",
        "1",
    )
    assert (third.status_code, third.json()) == (200, {})  # the script is used up: default_reply


def test_default_reply_is_per_subclass():
    class Teapot(RecordingHTTPServer):
        def default_reply(self, recorded):
            return Reply(418, {"path": recorded.path})

    with Teapot() as peer:
        response = requests.get(f"{peer.url}/brew", timeout=5)
    assert (response.status_code, response.json()) == (418, {"path": "/brew"})


def test_wait_for_says_what_arrived_when_it_times_out(http_peer: RecordingHTTPServer):
    requests.get(f"{http_peer.url}/one", timeout=5)
    with pytest.raises(AssertionError, match=r"waited 0.2s for 2 request\(s\), got 1 request\(s\): \['GET /one'\]"):
        http_peer.wait_for(2, timeout=0.2)


def test_clear_forgets_requests_and_scripts(http_peer: RecordingHTTPServer):
    http_peer.script(None, Reply(500))
    http_peer.clear()
    assert requests.get(http_peer.url, timeout=5).status_code == 200
    http_peer.clear()
    assert http_peer.requests == []


def test_delay_makes_a_client_time_out_but_the_request_is_recorded():
    with RecordingHTTPServer(delay=2) as peer:
        with pytest.raises(requests.Timeout):
            requests.post(peer.url, json={}, timeout=0.2)
        assert len(peer.wait_for(1)) == 1
        peer.delay = 0
        peer.script(None, Reply(200, "slow", delay=0.3))
        with pytest.raises(requests.Timeout):
            requests.get(peer.url, timeout=0.1)
        assert requests.get(peer.url, timeout=5).status_code == 200


# --- PostmarkPeer through anymail -----------------------------------------------------------


def test_postmark_accepts_a_send_as_anymail_makes_it(postmark_peer: PostmarkPeer):
    message = alert_email()
    message.metadata = {"dedup_key": "rule1:listing2"}
    assert message.send() == 1

    [payload] = postmark_peer.messages
    assert payload["From"] == "Deal Alerts <alerts@dealalerts.local>"
    assert payload["To"] == "shopper@example.com"
    assert payload["Subject"] == "Price drop: Road bike"
    assert (payload["TextBody"], payload["HtmlBody"]) == ("Now $499.", "<p>Now <b>$499</b>.</p>")
    assert payload["Headers"] == [{"Name": "List-Unsubscribe", "Value": "<https://dealalerts.local/u/abc>"}]
    assert payload["Metadata"] == {"dedup_key": "rule1:listing2"}
    [request] = postmark_peer.requests
    assert request.route == "/email"
    assert message.anymail_status.status == {"sent"}
    assert message.anymail_status.message_id == message.anymail_status.esp_response.json()["MessageID"]
    assert postmark_peer.stats() == {"accepted": 1, "by_key": {"rule1:listing2": 1}}


def test_postmark_batch_answers_per_message(postmark_peer: PostmarkPeer):
    message = alert_email("a@example.com", "b@example.com")
    message.merge_metadata = {"a@example.com": {"dedup_key": "a"}, "b@example.com": {"dedup_key": "b"}}
    postmark_peer.fail_next("inactive_recipient")  # refuses the batch's first message only
    assert message.send() == 1

    assert postmark_peer.requests[0].route == "/email/batch"
    assert [m["To"] for m in postmark_peer.messages] == ["b@example.com"]
    recipients = message.anymail_status.recipients
    assert (recipients["a@example.com"].status, recipients["b@example.com"].status) == ("rejected", "sent")
    assert postmark_peer.stats() == {"accepted": 1, "by_key": {"b": 1}}


def test_postmark_wrong_token_is_a_401(postmark_peer: PostmarkPeer):
    postmark_peer.token = "another"
    with pytest.raises(AnymailRequestsAPIError) as raised:
        alert_email().send()
    assert raised.value.status_code == 401
    assert raised.value.response.json()["ErrorCode"] == 10
    assert postmark_peer.messages == []


@pytest.mark.parametrize(("kind", "status"), [("rate_limited", 429), ("server_error", 500), ("invalid", 422)])
def test_postmark_request_failures_raise_api_errors_with_the_status(postmark_peer: PostmarkPeer, kind, status):
    postmark_peer.fail_next(kind, retry_after=7)
    with pytest.raises(AnymailRequestsAPIError) as raised:
        alert_email().send()
    assert raised.value.status_code == status
    if kind == "rate_limited":
        assert raised.value.response.headers["Retry-After"] == "7"
    assert postmark_peer.messages == []
    assert alert_email().send() == 1  # one failure scripted, one used
    assert len(postmark_peer.messages) == 1


@pytest.mark.parametrize(("kind", "status"), [("inactive_recipient", "rejected"), ("invalid_recipient", "invalid")])
def test_postmark_refused_recipients_raise_recipients_refused(postmark_peer: PostmarkPeer, kind, status):
    postmark_peer.fail_next(kind)
    message = alert_email("Shopper <Shopper@Example.com>")
    with pytest.raises(AnymailRecipientsRefused) as raised:
        message.send()
    assert raised.value.response.status_code == 422
    assert message.anymail_status.status == {status}
    # keyed by the address as sent (a plain dict: case-sensitive), though Postmark lowercases it
    assert message.anymail_status.recipients["Shopper@Example.com"].status == status
    assert postmark_peer.messages == []


def test_postmark_inactive_recipient_with_ignore_recipient_status(postmark_peer: PostmarkPeer, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "IGNORE_RECIPIENT_STATUS": True}
    postmark_peer.fail_next("inactive_recipient")
    message = alert_email()
    assert message.send() == 1
    assert message.anymail_status.status == {"rejected"}


def test_postmark_timeout_after_the_peer_accepted(postmark_peer: PostmarkPeer, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": 0.2}
    postmark_peer.delay = 2
    with pytest.raises(AnymailRequestsAPIError) as raised:
        alert_email().send()
    assert isinstance(raised.value, requests.Timeout)
    assert raised.value.status_code is None
    assert len(postmark_peer.wait_for_messages(1)) == 1  # a retry would deliver it twice


def test_postmark_rejects_what_postmark_rejects(postmark_peer: PostmarkPeer):
    url, headers = f"{postmark_peer.url}/email", {"X-Postmark-Server-Token": postmark_peer.token}
    no_body = requests.post(url, json={"From": "a@example.com", "To": "b@example.com"}, headers=headers, timeout=5)
    assert (no_body.status_code, no_body.json()["ErrorCode"]) == (422, 300)
    assert requests.post(url, data=b"{", headers=headers, timeout=5).json()["ErrorCode"] == 402
    assert requests.post(f"{postmark_peer.url}/email/bulk", json={}, headers=headers, timeout=5).status_code == 404
    assert postmark_peer.messages == []


def test_postmark_fail_next_knows_its_kinds(postmark_peer: PostmarkPeer):
    with pytest.raises(ValueError, match="unknown failure kind"):
        postmark_peer.fail_next("flaky")  # type: ignore[arg-type]


def test_reset_puts_a_session_long_peer_back_as_it_started():
    """The suite's peers live for the whole session; what one test leaves must not reach the next."""
    with PostmarkPeer(token="start-token") as peer:
        headers = {"X-Postmark-Server-Token": "start-token"}
        payload = {"From": "a@example.com", "To": "b@example.com", "TextBody": "x", "Metadata": {"dedup_key": "k"}}
        assert requests.post(f"{peer.url}/email", json=payload, headers=headers, timeout=5).status_code == 200
        peer.fail_next("server_error", 3)
        peer.script("/email", Reply(418))
        peer.token, peer.delay = "another", 5

        peer.reset()

        assert (peer.token, peer.delay) == ("start-token", 0.0)
        assert (peer.requests, peer.messages, peer.stats()) == ([], [], {"accepted": 0, "by_key": {}})
        assert requests.post(f"{peer.url}/email", json=payload, headers=headers, timeout=5).status_code == 200
        assert peer.stats() == {"accepted": 1, "by_key": {"k": 1}}


# --- SMTPPeer through Django's SMTP backend ------------------------------------------------


def test_smtp_peer_receives_multipart_mail_with_headers(smtp_peer: SMTPPeer):
    message = alert_email(bcc=["audit@example.com"])
    assert message.send() == 1

    [received] = smtp_peer.wait_for(1)
    assert received["Subject"] == "Price drop: Road bike"
    assert received["To"] == "shopper@example.com"
    assert received["List-Unsubscribe"] == "<https://dealalerts.local/u/abc>"
    assert received.get_content_type() == "multipart/alternative"
    assert received.get_body(("plain",)).get_content().strip() == "Now $499."
    assert received.get_body(("html",)).get_content().strip() == "<p>Now <b>$499</b>.</p>"
    [envelope] = smtp_peer.received
    assert envelope.mail_from == "alerts@dealalerts.local"
    assert envelope.rcpt_tos == ["shopper@example.com", "audit@example.com"]


def test_smtp_peer_wait_for_times_out_clearly():
    with SMTPPeer() as peer, pytest.raises(AssertionError, match=r"waited 0.1s for 1 message\(s\)"):
        peer.wait_for(1, timeout=0.1)


# --- The CLI sink ------------------------------------------------------------------------------


def test_cli_postmark_sink_counts_by_dedup_key_under_load():
    command = [sys.executable, "-m", "peers", "postmark", "--port", "0"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as sink:
        try:
            assert sink.stdout is not None
            url = sink.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            sessions = [requests.Session() for _ in range(8)]  # kept-alive connections, shared by the workers

            def send(i: int) -> int:
                payload = {
                    "From": "a@example.com",
                    "To": f"u{i}@example.com",
                    "TextBody": "x",
                    "Metadata": {"dedup_key": f"k{i % 100}"},
                }
                headers = {"X-Postmark-Server-Token": "test-token"}
                return sessions[i % 8].post(f"{url}/email", json=payload, headers=headers, timeout=10).status_code

            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(send, range(400)))
            for session in sessions:
                session.close()
            assert set(statuses) == {200}
            stats = requests.get(f"{url}/_stats", timeout=5).json()
            assert stats["accepted"] == 400
            assert stats["by_key"] == {f"k{k}": 4 for k in range(100)}
        finally:
            sink.terminate()
