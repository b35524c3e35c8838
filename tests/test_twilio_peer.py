"""TwilioPeer, exercised by the real `twilio` client over sockets: the record of how each Twilio
answer surfaces through the library, which the SMS provider module relies on.

| peer failure     | HTTP | TwilioRestException .code | tells                                  |
|------------------|------|---------------------------|----------------------------------------|
| wrong credentials| 401  | 20003                     | "Authenticate"                         |
| "rate_limited"   | 429  | 20429                     | Retry-After on the last response only  |
| "server_error"   | 500  | 20500                     |                                        |
| "invalid_number" | 400  | 21211                     | not a valid phone number               |
| "unsubscribed"   | 400  | 21610                     | the recipient texted STOP              |
| "not_mobile"     | 400  | 21614                     | not a mobile number                    |
| "landline"       | 400  | 21635                     | a landline                             |
"""

import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from peers.twilio import TwilioPeer

ROOT = Path(__file__).resolve().parent.parent
SENDER = "+15005550006"


def client_for(peer: TwilioPeer, *, sid: str | None = None, token: str | None = None) -> Client:
    client = Client(sid or peer.account_sid, token or peer.token, environment={})
    client.api.base_url = peer.url
    return client


class _WebhookReceiver(ThreadingHTTPServer):
    """The app's side of a webhook: validates X-Twilio-Signature as a Django view would."""

    def __init__(self, token: str) -> None:
        self.validator = RequestValidator(token)
        self.received: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                params = dict(parse_qsl(body, keep_blank_values=True))
                url = f"http://127.0.0.1:{receiver.server_address[1]}{self.path}"
                valid = receiver.validator.validate(url, params, self.headers.get("X-Twilio-Signature", ""))
                receiver.received.append(params)
                answer = b"<Response/>" if valid else b"bad signature"
                self.send_response(200 if valid else 403)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.shutdown()
        self.server_close()


def test_peer_answers_the_twilio_client_with_a_message_resource(twilio_peer: TwilioPeer):
    client = client_for(twilio_peer)
    message = client.messages.create(
        to="+15551234567",
        from_=SENDER,
        body="Deal: Road bike - $499",
        status_callback="https://deals.example/sms/status?d=rule1:listing2",
        validity_period=900,
    )

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert (message.status, message.to, message.from_, message.body) == (
        "queued",
        "+15551234567",
        SENDER,
        "Deal: Road bike - $499",
    )
    assert (message.num_segments, message.error_code, message.direction) == ("1", None, "outbound-api")
    assert message.date_created is not None  # RFC 2822, parsed by the library
    [request] = twilio_peer.requests
    assert request.route == f"/2010-04-01/Accounts/{twilio_peer.account_sid}/Messages.json"
    assert request.form == {
        "To": "+15551234567",
        "From": SENDER,
        "Body": "Deal: Road bike - $499",
        "StatusCallback": "https://deals.example/sms/status?d=rule1:listing2",
        "ValidityPeriod": "900",
    }
    [recorded] = twilio_peer.messages
    assert (recorded["sid"], recorded["validity_period"], recorded["key"]) == (message.sid, 900, "rule1:listing2")
    assert twilio_peer.stats() == {"accepted": 1, "by_key": {"rule1:listing2": 1}}


def test_peer_accepts_a_messaging_service_instead_of_a_number(twilio_peer: TwilioPeer):
    service = "MG" + "1" * 32
    message = client_for(twilio_peer).messages.create(to="+15551234567", messaging_service_sid=service, body="x")
    assert (message.status, message.messaging_service_sid, message.from_) == ("accepted", service, None)
    assert twilio_peer.messages[0]["messaging_service_sid"] == service


def test_peer_counts_segments_as_twilio_bills_them(twilio_peer: TwilioPeer):
    client = client_for(twilio_peer)
    sizes = {"a" * 160: "1", "a" * 161: "2", "€" * 80: "1", "€" * 81: "2", "é" * 160: "1", "ą" * 70: "1", "ą" * 71: "2"}
    for body, expected in sizes.items():
        assert client.messages.create(to="+15551234567", from_=SENDER, body=body).num_segments == expected


@pytest.mark.parametrize(("sid", "token"), [(None, "wrong-token"), ("AC" + "9" * 32, None)])
def test_wrong_credentials_are_a_401_authenticate(twilio_peer: TwilioPeer, sid, token):
    with pytest.raises(TwilioRestException) as raised:
        client_for(twilio_peer, sid=sid, token=token).messages.create(to="+15551234567", from_=SENDER, body="x")
    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert raised.value.msg.endswith("Authenticate")
    assert twilio_peer.messages == []


def test_missing_credentials_are_a_401(twilio_peer: TwilioPeer):
    url = f"{twilio_peer.url}/2010-04-01/Accounts/{twilio_peer.account_sid}/Messages.json"
    response = requests.post(url, data={"To": "+15551234567", "From": SENDER, "Body": "x"}, timeout=5)
    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"from_": SENDER, "body": "x"}, 21604), ({"to": "+15551234567", "from_": SENDER}, 21602)],
)
def test_missing_to_or_body_is_a_400_with_twilios_code(twilio_peer: TwilioPeer, fields, code):
    messages = client_for(twilio_peer).messages
    with pytest.raises(TwilioRestException) as raised:
        messages.create(**{"to": "", **fields})
    assert (raised.value.status, raised.value.code) == (400, code)
    assert twilio_peer.messages == []


@pytest.mark.parametrize(
    ("kind", "status", "code", "words"),
    [
        ("rate_limited", 429, 20429, "Too Many Requests"),
        ("server_error", 500, 20500, "internal server error"),
        ("invalid_number", 400, 21211, "The 'To' number +15551234567 is not a valid phone number."),
        ("unsubscribed", 400, 21610, "unsubscribed recipient"),
        ("not_mobile", 400, 21614, "not a valid mobile number"),
        ("landline", 400, 21635, "cannot be a landline"),
    ],
)
def test_each_scripted_failure_reaches_the_client_with_its_code(twilio_peer: TwilioPeer, kind, status, code, words):
    twilio_peer.fail_next(kind, retry_after=7)
    client = client_for(twilio_peer)
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to="+15551234567", from_=SENDER, body="x")
    assert (raised.value.status, raised.value.code) == (status, code)
    assert words in raised.value.msg
    headers = client.http_client._test_only_last_response.headers
    assert headers.get("Retry-After") == ("7" if kind == "rate_limited" else None)
    assert twilio_peer.messages == []
    assert client.messages.create(to="+15551234567", from_=SENDER, body="x").status == "queued"  # one used


def test_fail_next_knows_its_kinds(twilio_peer: TwilioPeer):
    with pytest.raises(ValueError, match="unknown failure kind"):
        twilio_peer.fail_next("flaky")  # type: ignore[arg-type]


def test_delay_makes_the_client_time_out_after_the_peer_accepted(twilio_peer: TwilioPeer):
    from twilio.http.http_client import TwilioHttpClient

    client = Client(twilio_peer.account_sid, twilio_peer.token, http_client=TwilioHttpClient(timeout=0.2))
    client.api.base_url = twilio_peer.url
    twilio_peer.delay = 2
    with pytest.raises(requests.Timeout):
        client.messages.create(to="+15551234567", from_=SENDER, body="x")
    assert len(twilio_peer.wait_for_messages(1)) == 1  # a retry would text twice


def test_status_callback_is_signed_as_twilio_signs_it(twilio_peer: TwilioPeer):
    with _WebhookReceiver(twilio_peer.token) as app:
        callback = f"{app.url}/sms/status?d=rule1:listing2"
        message = client_for(twilio_peer).messages.create(
            to="+15551234567", from_=SENDER, body="x", status_callback=callback
        )
        assert twilio_peer.post_status(message.sid, "delivered") == (200, "<Response/>")
        assert twilio_peer.post_status(message.sid, "undelivered", error_code=30003) == (200, "<Response/>")
        assert twilio_peer.post_status(message.sid, "failed", bad_signature=True) == (403, "bad signature")

    delivered, undelivered, _ = app.received
    assert delivered["MessageSid"] == delivered["SmsSid"] == message.sid
    assert (delivered["MessageStatus"], delivered["To"], delivered["From"]) == ("delivered", "+15551234567", SENDER)
    assert delivered["AccountSid"] == twilio_peer.account_sid
    assert "ErrorCode" not in delivered
    assert (undelivered["MessageStatus"], undelivered["ErrorCode"]) == ("undelivered", "30003")


def test_inbound_message_is_signed_and_a_bad_signature_is_not_valid(twilio_peer: TwilioPeer):
    with _WebhookReceiver(twilio_peer.token) as app:
        assert twilio_peer.post_inbound(f"{app.url}/sms/inbound", "+15551234567", "STOP", to=SENDER) == (
            200,
            "<Response/>",
        )
        assert twilio_peer.post_inbound(f"{app.url}/sms/inbound", "+15551234567", "STOP", bad_signature=True)[0] == 403

    stop = app.received[0]
    assert (stop["From"], stop["To"], stop["Body"], stop["NumMedia"]) == ("+15551234567", SENDER, "STOP", "0")
    assert re.fullmatch(r"SM[0-9a-f]{32}", stop["MessageSid"])
    assert stop["AccountSid"] == twilio_peer.account_sid


def test_signature_matches_twilios_documented_example():
    """Twilio's security docs: this URL and these fields, with token 12345, sign to this value."""
    peer = TwilioPeer(token="12345")
    try:
        url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234", "From": "+14158675309"}
        params["To"] = "+18005551212"
        assert peer.signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    finally:
        peer.server_close()


def test_status_for_an_unknown_message_is_refused(twilio_peer: TwilioPeer):
    with pytest.raises(KeyError):
        twilio_peer.post_status("SM" + "0" * 32, "delivered")


def test_reset_puts_the_session_peer_back_as_it_started(twilio_peer: TwilioPeer):
    client_for(twilio_peer).messages.create(to="+15551234567", from_=SENDER, body="x")
    twilio_peer.fail_next("server_error", 3)
    twilio_peer.token = "another"

    twilio_peer.reset()

    assert (twilio_peer.token, twilio_peer.messages, twilio_peer.stats()) == (
        "test-auth-token",
        [],
        {"accepted": 0, "by_key": {}},
    )
    assert client_for(twilio_peer).messages.create(to="+15551234567", from_=SENDER, body="x").status == "queued"


def test_cli_twilio_sink_counts_by_the_callbacks_dedup_key_under_load():
    sid, token = "AC" + "a" * 32, "sink-token"
    command = [sys.executable, "-m", "peers", "twilio", "--port", "0", "--sid", sid, "--token", token]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as sink:
        try:
            assert sink.stdout is not None
            url = sink.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            clients = []
            for _ in range(4):
                client = Client(sid, token, environment={})
                client.api.base_url = url
                clients.append(client)

            def send(i: int) -> str:
                callback = f"https://deals.example/sms/status?d=k{i % 50}"
                message = clients[i % 4].messages.create(
                    to=f"+1555000{i:04d}", from_=SENDER, body="x", status_callback=callback
                )
                return message.status

            with ThreadPoolExecutor(4) as pool:
                statuses = list(pool.map(send, range(200)))
            assert set(statuses) == {"queued"}
            stats = requests.get(f"{url}/_stats", timeout=5).json()
            assert stats == {"accepted": 200, "by_key": {f"k{k}": 4 for k in range(50)}}
        finally:
            sink.terminate()
