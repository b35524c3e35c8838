"""The Twilio provider module against a real Twilio peer: what goes out, and how each answer is classified."""

import base64
import re
import socket
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.channels import twilio as sms
from notifications.channels.base import Permanent, Sent, Transient
from peers.twilio import TwilioPeer

TO = "+15551234567"
CALLBACK = "https://deals.example/sms/status?d=rule1:listing2"


def test_sends_the_text_with_twilios_form_fields_and_basic_auth(twilio_peer: TwilioPeer):
    result = sms.send_text(TO, "Deal: Road bike - $499", status_callback=CALLBACK)

    [message] = twilio_peer.messages
    assert result == Sent(provider_id=message["sid"])
    [request] = twilio_peer.requests
    assert request.route == f"/2010-04-01/Accounts/{twilio_peer.account_sid}/Messages.json"
    body = "Deal: Road bike - $499"
    assert request.form == {"To": TO, "From": "+15005550006", "Body": body, "StatusCallback": CALLBACK}
    credentials = base64.b64encode(f"{twilio_peer.account_sid}:{twilio_peer.token}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"
    assert twilio_peer.stats() == {"accepted": 1, "by_key": {"rule1:listing2": 1}}


def test_validity_period_goes_only_when_given(twilio_peer: TwilioPeer):
    assert isinstance(sms.send_text(TO, "urgent", validity_s=900), Sent)
    assert isinstance(sms.send_text(TO, "not urgent"), Sent)

    urgent, relaxed = twilio_peer.requests
    assert urgent.form["ValidityPeriod"] == "900"
    assert "ValidityPeriod" not in relaxed.form
    assert "StatusCallback" not in relaxed.form


def test_a_messaging_service_replaces_the_from_number(twilio_peer: TwilioPeer, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "2" * 32
    assert isinstance(sms.send_text(TO, "x"), Sent)

    [request] = twilio_peer.requests
    assert request.form["MessagingServiceSid"] == "MG" + "2" * 32
    assert "From" not in request.form


def test_changed_settings_make_a_new_client(twilio_peer: TwilioPeer, settings):
    assert isinstance(sms.send_text(TO, "before"), Sent)
    twilio_peer.token = settings.TWILIO_AUTH_TOKEN = "rotated-token"  # a cached client would still send the old one
    assert isinstance(sms.send_text(TO, "after"), Sent)
    assert [m["body"] for m in twilio_peer.messages] == ["before", "after"]


def test_each_thread_sends_with_its_own_client(twilio_peer: TwilioPeer):
    results = []
    threads = [threading.Thread(target=lambda: results.append(sms.send_text(TO, "x"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [type(r) for r in results] == [Sent] * 4
    assert len({r.provider_id for r in results}) == 4


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("invalid_number", Permanent("Twilio 21211: The 'To' number +15551234567 is not a valid phone number.", True)),
        ("not_mobile", Permanent("Twilio 21614: 'To' number +15551234567 is not a valid mobile number", True)),
        ("landline", Permanent("Twilio 21635: 'To' number +15551234567 cannot be a landline", True)),
        ("unsubscribed", Permanent("Twilio 21610: Attempt to send to unsubscribed recipient", opted_out=True)),
        ("rate_limited", Transient("Twilio 20429: Too Many Requests", retry_after=7.0)),
        ("server_error", Transient("Twilio 20500: An internal server error has occurred", retry_after=None)),
    ],
)
def test_each_twilio_answer_is_classified(twilio_peer: TwilioPeer, kind, expected):
    twilio_peer.fail_next(kind, retry_after=7)
    assert sms.send_text(TO, "x") == expected
    assert twilio_peer.messages == []


def test_retry_after_is_only_read_from_the_answer_that_carried_it(twilio_peer: TwilioPeer):
    twilio_peer.fail_next("rate_limited", retry_after=30)
    twilio_peer.fail_next("server_error")
    assert sms.send_text(TO, "x") == Transient("Twilio 20429: Too Many Requests", retry_after=30.0)
    assert sms.send_text(TO, "x").retry_after is None


def test_wrong_credentials_are_permanent_and_not_about_the_address(twilio_peer: TwilioPeer, settings):
    settings.TWILIO_AUTH_TOKEN = "wrong"
    assert sms.send_text(TO, "x") == Permanent("Twilio 20003: Authenticate")


def test_a_missing_body_is_permanent_with_twilios_words(twilio_peer: TwilioPeer):
    assert sms.send_text(TO, "") == Permanent("Twilio 21602: Message body is required.")


def test_connection_refused_is_transient(twilio_peer: TwilioPeer, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.TWILIO_API_URL = f"http://127.0.0.1:{closed_port}"
    result = sms.send_text(TO, "x")
    assert isinstance(result, Transient)
    assert result.error.startswith("Twilio unreachable: NewConnectionError")
    assert result.retry_after is None


def test_no_answer_in_time_is_transient_though_twilio_may_have_it(twilio_peer: TwilioPeer, monkeypatch):
    monkeypatch.setattr(sms, "SEND_TIMEOUT_S", 0.2)
    twilio_peer.delay = 2
    result = sms.send_text(TO, "x")
    assert isinstance(result, Transient)
    assert result.error.startswith("Twilio unreachable: ReadTimeoutError")
    assert len(twilio_peer.wait_for_messages(1)) == 1  # accepted all the same: a retry texts twice


def test_without_credentials_the_text_is_printed_not_sent(twilio_peer: TwilioPeer, settings, capsys):
    settings.TWILIO_AUTH_TOKEN = ""
    result = sms.send_text(TO, "Deal: Road bike - $499\nhttps://deals.example/l/1")

    assert isinstance(result, Sent)
    assert re.fullmatch(r"console-[0-9a-f]{32}", result.provider_id)
    assert capsys.readouterr().out == (
        "SMS to +1 •••-•••-4567 (printed: no Twilio credentials set)\n"
        "Deal: Road bike - $499\nhttps://deals.example/l/1\n" + "-" * 79 + "\n"
    )
    assert twilio_peer.requests == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, True),
        ({"TWILIO_PHONE_NUMBER": "", "TWILIO_MESSAGING_SERVICE_SID": "MG" + "2" * 32}, True),
        ({"TWILIO_PHONE_NUMBER": ""}, False),
        ({"TWILIO_ACCOUNT_SID": ""}, False),
        ({"TWILIO_AUTH_TOKEN": ""}, False),
    ],
)
def test_configured_needs_sid_token_and_a_sender(twilio_peer: TwilioPeer, settings, changes, expected):
    for name, value in changes.items():
        setattr(settings, name, value)
    assert sms.configured() is expected


# --- webhook signatures ---------------------------------------------------------------------


def test_valid_signature_accepts_twilios_and_refuses_others(twilio_peer: TwilioPeer, settings):
    url = "https://deals.example/sms/status?d=rule1:listing2"
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered", "To": TO}
    signature = twilio_peer.signature(url, params)

    assert sms.valid_signature(url, params, signature)
    assert not sms.valid_signature(url, {**params, "MessageStatus": "failed"}, signature)
    assert not sms.valid_signature(url + "x", params, signature)
    assert not sms.valid_signature(url, params, "")
    settings.TWILIO_AUTH_TOKEN = ""
    assert not sms.valid_signature(url, params, signature)


# --- the text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 10, 2),  # the escape and its character stay in one segment
        ("é" * 160, 1),  # in the GSM basic set
        ("ą" * 70, 1),  # not: the whole text goes UCS-2
        ("ą" * 71, 2),
        ("😀" * 35, 1),  # two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_segments_counts_as_twilio_bills(text, count):
    assert sms.segments(text) == count


def test_is_gsm7():
    assert sms.is_gsm7("Deal: Road bike - $499 @ 10% off {new} [€5] ~ | \\ ^ Ñoño")
    assert not sms.is_gsm7("“quoted”")
    assert not sms.is_gsm7("bike 🚲")


def test_to_gsm7_replaces_look_alikes_and_drops_emoji():
    text = "“Road” bike\u00a0– 56cm… 🚲 ‘mint’ naïve ﬁx ½"
    assert sms.to_gsm7(text) == "\"Road\" bike - 56cm...  'mint' naive fix 1/2"  # spaces are sms_text's to tidy


def test_sms_text_fits_a_deal_in_one_segment():
    title = "Trek Domane AL 2 “Road” bike — 56cm… 🚲 excellent condition, barely ridden, pedals included " * 2
    text = sms.sms_text(title, "$499", "https://deals.example/l/12345")

    assert text.startswith('Deal: Trek Domane AL 2 "Road" bike - 56cm... excellent condition')
    assert text.endswith("... - $499\nhttps://deals.example/l/12345")
    assert sms.is_gsm7(text)
    assert sms.segments(text) == 1
    assert sms.sms_text("Road bike", "$499", "https://d.example/1", prefix="Price drop") == (
        "Price drop: Road bike - $499\nhttps://d.example/1"
    )


URL_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%"


@given(
    title=st.text(max_size=300),
    price=st.text(max_size=80),
    path=st.text(alphabet=URL_CHARACTERS, max_size=60 - len("https://d.example/")),
)
def test_sms_text_is_one_gsm7_segment_with_the_link_whole(title, price, path):
    link = "https://d.example/" + path
    text = sms.sms_text(title, price, link)
    assert sms.is_gsm7(text)
    assert sms.septets(text) <= 160
    assert sms.segments(text) == 1
    assert text.endswith("\n" + link)


@given(title=st.text(max_size=100), link=st.text(min_size=1, max_size=300))
def test_sms_text_never_changes_the_link(title, link):
    assert sms.sms_text(title, "$1", link).endswith(link)
