"""The phone endpoints: a code texted through the Twilio peer, read back from what the peer received."""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import PhoneVerification, User
from dealalerts import encryption
from notifications import phone
from notifications.models import NotificationPreferences
from tests.concurrency import run_twice_at_once
from tests.factories import UserFactory
from tests.queries import count_queries

PHONE = "/api/notification-preferences/phone"
VERIFY = "/api/notification-preferences/phone/verify"
NUMBER = "+12015550123"
CODE_TEXT = re.compile(r"^Deal Alerts code: (\d{6})\. It expires in 10 minutes\. Reply STOP to opt out\.$")


@pytest.fixture
def shopper(db):
    return UserFactory()


def signed_in(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def client(shopper) -> APIClient:
    return signed_in(shopper)


@pytest.fixture
def no_resend_wait(settings):
    settings.SMS_CODE_RESEND_SECONDS = 0


def last_code(peer, to: str = NUMBER) -> str:
    texts = [m for m in peer.messages if m["to"] == to]
    assert texts, f"no text to {to}"
    return CODE_TEXT.match(texts[-1]["body"]).group(1)


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.mark.parametrize("slash", ["", "/"])
def test_a_texted_code_verifies_the_phone(client, shopper, twilio_peer, slash):
    assert client.get(f"{PHONE}{slash}").json() == {"phone_number": None, "verified": False}

    sent = client.post(f"{PHONE}{slash}", {"phone_number": "(201) 555-0123"}, format="json")

    assert sent.status_code == 202, sent.json()
    assert sent.json() == {
        "phone_number": NUMBER,
        "verified": False,
        "detail": "Code sent to +1 •••-•••-0123.",
        "resend_after": 30,
        "expires_in": 600,
    }
    [text] = twilio_peer.messages
    assert text["to"] == NUMBER and CODE_TEXT.match(text["body"])
    assert text["validity_period"] == 600  # a code delivered late is of no use
    assert client.get(PHONE).json() == {"phone_number": NUMBER, "verified": False}
    user = fresh(shopper)
    assert (user.phone_number, user.phone_digest, user.phone_verified) == (NUMBER, encryption.digest(NUMBER), False)

    verified = client.post(f"{VERIFY}{slash}", {"otp": last_code(twilio_peer)}, format="json")

    assert verified.status_code == 200, verified.json()
    assert verified.json() == {"phone_number": NUMBER, "verified": True}
    assert client.get(PHONE).json() == {"phone_number": NUMBER, "verified": True}
    assert fresh(shopper).phone_verified is True
    assert User.objects.get(phone_digest__in=encryption.digests(NUMBER)) == shopper  # how an inbound SMS finds its user


def test_the_code_may_be_typed_with_spaces(client, twilio_peer):
    client.post(PHONE, {"phone_number": NUMBER}, format="json")
    code = last_code(twilio_peer)
    assert client.post(VERIFY, {"otp": f" {code[:3]} {code[3:]} "}, format="json").status_code == 200


def test_an_expired_code_is_refused(client, shopper, twilio_peer, monkeypatch):
    client.post(PHONE, {"phone_number": NUMBER}, format="json")
    code = last_code(twilio_peer)
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    monkeypatch.setattr(phone, "now", lambda: later)

    refused = client.post(VERIFY, {"otp": code}, format="json")

    assert refused.status_code == 400
    assert refused.json() == {"otp": ["That code has expired. Ask for a new code."]}
    assert fresh(shopper).phone_verified is False


def test_a_code_still_works_just_before_it_expires(client, twilio_peer, monkeypatch):
    client.post(PHONE, {"phone_number": NUMBER}, format="json")
    code = last_code(twilio_peer)
    nearly = timezone.now() + timedelta(minutes=9, seconds=55)
    monkeypatch.setattr(phone, "now", lambda: nearly)
    assert client.post(VERIFY, {"otp": code}, format="json").status_code == 200


def test_a_code_works_once(client, twilio_peer):
    client.post(PHONE, {"phone_number": NUMBER}, format="json")
    code = last_code(twilio_peer)
    assert client.post(VERIFY, {"otp": code}, format="json").status_code == 200

    again = client.post(VERIFY, {"otp": code}, format="json")

    assert again.status_code == 400
    assert again.json() == {"otp": ["That code was already used. Ask for a new code."]}


def test_five_wrong_codes_end_it_and_the_sixth_try_fails_even_when_right(client, shopper, twilio_peer):
    client.post(PHONE, {"phone_number": NUMBER}, format="json")
    code = last_code(twilio_peer)
    answers = [client.post(VERIFY, {"otp": wrong(code)}, format="json").json()["otp"][0] for _ in range(5)]

    assert answers == [
        "That code is not right. 4 tries left.",
        "That code is not right. 3 tries left.",
        "That code is not right. 2 tries left.",
        "That code is not right. 1 try left.",
        "That code is not right, and that was the last try. Ask for a new code.",
    ]
    sixth = client.post(VERIFY, {"otp": code}, format="json")
    assert sixth.status_code == 400
    assert sixth.json() == {"otp": ["Too many wrong codes were tried. Ask for a new code."]}
    assert fresh(shopper).phone_verified is False
    assert client.get(PHONE).json() == {"phone_number": NUMBER, "verified": False}


def test_a_new_code_voids_the_one_before(client, twilio_peer, no_resend_wait):
    client.post(PHONE, {"phone_number": NUMBER}, format="json")
    first = last_code(twilio_peer)
    client.post(PHONE, {"phone_number": NUMBER}, format="json")
    second = last_code(twilio_peer)
    for _ in range(3):  # one chance in a million that two random codes are equal: ask again until they differ
        if second != first:
            break
        client.post(PHONE, {"phone_number": NUMBER}, format="json")
        second = last_code(twilio_peer)
    assert second != first

    assert client.post(VERIFY, {"otp": first}, format="json").json()["otp"] == ["That code is not right. 4 tries left."]
    assert client.post(VERIFY, {"otp": second}, format="json").status_code == 200
    assert PhoneVerification.objects.filter(user__email__isnull=False).count() == 1


def test_a_second_code_must_wait_for_the_resend_delay(client, twilio_peer):
    assert client.post(PHONE, {"phone_number": NUMBER}, format="json").status_code == 202

    early = client.post(PHONE, {"phone_number": NUMBER}, format="json")

    assert early.status_code == 429
    assert 1 <= int(early["Retry-After"]) <= 30
    assert early.json()["detail"].startswith("A code was just sent. You can ask for another in ")
    assert len(twilio_peer.messages) == 1


def test_five_codes_per_phone_per_hour_then_429_with_retry_after(client, twilio_peer, no_resend_wait):
    for _ in range(5):
        assert client.post(PHONE, {"phone_number": NUMBER}, format="json").status_code == 202

    sixth = client.post(PHONE, {"phone_number": NUMBER}, format="json")
    from_someone_else = signed_in(UserFactory()).post(PHONE, {"phone_number": NUMBER}, format="json")

    for refused in (sixth, from_someone_else):  # the phone is counted, whoever asks
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= 3600
        assert refused.json()["detail"].startswith("Too many codes were asked for. Try again in ")
    assert len(twilio_peer.messages) == 5


def test_codes_per_client_address_are_limited(twilio_peer, no_resend_wait, settings, db):
    settings.SMS_CODES_PER_ADDRESS = 3
    numbers = ["+12015550101", "+12015550102", "+12015550103", "+12015550104"]
    answers = [
        signed_in(UserFactory()).post(PHONE, {"phone_number": n}, format="json", REMOTE_ADDR="203.0.113.9")
        for n in numbers
    ]
    elsewhere = signed_in(UserFactory()).post(
        PHONE, {"phone_number": "+12015550105"}, format="json", REMOTE_ADDR="198.51.100.7"
    )

    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert int(answers[-1]["Retry-After"]) >= 1
    assert elsewhere.status_code == 202
    assert [m["to"] for m in twilio_peer.messages] == [*numbers[:3], "+12015550105"]


def test_codes_per_user_are_limited_across_numbers(client, twilio_peer, no_resend_wait, settings):
    settings.SMS_CODES_PER_USER = 2
    answers = [
        client.post(PHONE, {"phone_number": f"+1201555010{n}"}, format="json", REMOTE_ADDR=f"203.0.113.{n}")
        for n in range(1, 4)
    ]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert "Retry-After" in answers[-1]


BAD_NUMBERS = {
    "not a number": ("12", "That is not a valid phone number."),
    "letters": ("call me maybe", "A phone number has digits only."),
    "too long": ("2" * 40, "That is too long for a phone number."),
    "premium rate": ("+1 900 555 1234", "Premium-rate numbers cannot receive alerts."),
    "toll free": ("+1 800 555 1234", "Toll-free numbers cannot receive text alerts."),
    "another country": ("+44 7400 123456", "Alerts cannot be texted to that country."),
    "empty": ("", "Enter a mobile number in the US or Canada, like +1 201-555-0123."),
    "blank": ("   ", "Enter a mobile number in the US or Canada"),
    "markup": ("<img src=x onerror=alert(1)>", "A phone number has digits only."),
    "NUL": ("201\x00555\x000123", "Null characters are not allowed."),
}


@pytest.mark.parametrize("case", BAD_NUMBERS)
def test_a_number_that_cannot_take_a_code_is_400_naming_the_field(client, shopper, twilio_peer, case):
    typed, says = BAD_NUMBERS[case]

    response = client.post(PHONE, {"phone_number": typed}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["phone_number"]
    assert says in response.json()["phone_number"][0]
    assert_nothing_written(shopper, twilio_peer)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"phone_number": None},
        {"phone_number": 2015550123},
        {"phone_number": ["+12015550123"]},
        {"phone_number": True},
        {"phone_number": {"n": "+12015550123"}},
        {"phone": NUMBER},
    ],
    ids=["missing", "null", "a JSON number", "a list", "true", "an object", "misnamed"],
)
def test_a_phone_number_of_the_wrong_type_is_400_naming_the_field(client, shopper, twilio_peer, body):
    response = client.post(PHONE, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["phone_number"]
    assert_nothing_written(shopper, twilio_peer)


def test_a_lone_surrogate_is_400_naming_the_field(client, shopper, twilio_peer):
    body = '{"phone_number": "+1 201 555 \\ud800"}'  # valid JSON, not valid Unicode text
    response = client.post(PHONE, body, content_type="application/json")
    assert response.status_code == 400 and list(response.json()) == ["phone_number"]
    assert_nothing_written(shopper, twilio_peer)


def assert_nothing_written(user, peer) -> None:
    row = fresh(user)
    assert (row.phone_number, row.phone_digest, row.phone_verified) == ("", "", False)
    assert not PhoneVerification.objects.filter(user=user).exists()
    assert peer.messages == []


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("not_mobile", "That number cannot receive texts: it is not a mobile number, or not in service."),
        ("landline", "That number cannot receive texts"),
        ("invalid_number", "That number cannot receive texts"),
        ("unsubscribed", "That number replied STOP to our texts."),
    ],
)
def test_a_number_twilio_refuses_is_a_field_error_and_nothing_is_stored(client, shopper, twilio_peer, kind, says):
    twilio_peer.fail_next(kind)

    response = client.post(PHONE, {"phone_number": NUMBER}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["phone_number"]
    assert response.json()["phone_number"][0].startswith(says)
    assert_nothing_written(shopper, twilio_peer)
    # Nothing went out, so the user may correct the number at once: no resend wait.
    assert client.post(PHONE, {"phone_number": "+12015550199"}, format="json").status_code == 202


def test_twilio_unavailable_is_503_with_retry_after_and_nothing_stored(client, shopper, twilio_peer):
    twilio_peer.fail_next("rate_limited", retry_after=7)

    response = client.post(PHONE, {"phone_number": NUMBER}, format="json")

    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response.json() == {"detail": "We could not send the code just now. Please try again in a minute."}
    assert_nothing_written(shopper, twilio_peer)


BAD_CODES = {
    "empty": "",
    "too short": "12345",
    "too long": "1234567",
    "letters": "abcdef",
    "full-width digits": "１２３４５６",
    "NUL": "123\x00456",
}


@pytest.mark.parametrize("case", BAD_CODES)
def test_a_malformed_code_is_400_naming_otp_and_costs_no_try(client, twilio_peer, case):
    client.post(PHONE, {"phone_number": NUMBER}, format="json")

    response = client.post(VERIFY, {"otp": BAD_CODES[case]}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["otp"]
    assert PhoneVerification.objects.get().attempts == 0


@pytest.mark.parametrize(
    "body", [{}, {"otp": None}, {"otp": 123456}, {"otp": ["123456"]}], ids=["missing", "null", "number", "list"]
)
def test_a_code_of_the_wrong_type_is_400_naming_otp(client, body, db):
    response = client.post(VERIFY, body, format="json")
    assert response.status_code == 400 and list(response.json()) == ["otp"]


def test_a_code_without_a_phone_is_400_naming_otp(client):
    response = client.post(VERIFY, {"otp": "123456"}, format="json")
    assert response.json() == {"otp": ["No code is waiting to be entered. Ask for a new code."]}


def test_another_user_neither_sees_nor_verifies_ones_phone(client, shopper, twilio_peer):
    client.post(PHONE, {"phone_number": NUMBER}, format="json")
    code = last_code(twilio_peer)
    other = signed_in(UserFactory())

    assert other.get(PHONE).json() == {"phone_number": None, "verified": False}
    assert other.post(VERIFY, {"otp": code}, format="json").json() == {
        "otp": ["No code is waiting to be entered. Ask for a new code."]
    }
    assert other.delete(PHONE).status_code == 204

    assert fresh(shopper).phone_number == NUMBER and fresh(shopper).phone_verified is False
    assert client.post(VERIFY, {"otp": code}, format="json").status_code == 200


def test_signed_out_callers_get_nothing(api_client, db):
    for response in (
        api_client.get(PHONE),
        api_client.post(PHONE, {"phone_number": NUMBER}, format="json"),
        api_client.post(VERIFY, {"otp": "123456"}, format="json"),
        api_client.delete(PHONE),
    ):
        assert response.status_code in (401, 403)


def test_the_database_holds_no_phone_number_in_clear(client, shopper, twilio_peer):
    client.post(PHONE, {"phone_number": NUMBER}, format="json")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone_number, phone_digest FROM accounts_user WHERE id = %s", [shopper.pk])
        stored_user = cursor.fetchone()
        cursor.execute("SELECT phone_number, phone_digest, code_hash FROM accounts_phoneverification")
        stored_codes = cursor.fetchall()
    code = last_code(twilio_peer)
    stored = json.dumps([stored_user, stored_codes])
    assert "2015550123" not in stored and "0123" not in stored_user[0]
    assert encryption.decrypt(stored_user[0]) == NUMBER
    assert code not in stored_codes[0][2]


def test_delete_removes_the_phone_and_turns_sms_off(client, shopper, twilio_peer):
    client.post(PHONE, {"phone_number": NUMBER}, format="json")
    client.post(VERIFY, {"otp": last_code(twilio_peer)}, format="json")
    NotificationPreferences.objects.filter(user=shopper).update(channels=["email", "sms"])

    response = client.delete(PHONE)

    assert response.status_code == 204
    user = fresh(shopper)
    assert (user.phone_number, user.phone_digest, user.phone_verified) == ("", "", False)
    assert NotificationPreferences.objects.get(user=shopper).channels == ["email"]
    assert not PhoneVerification.objects.filter(user=shopper).exists()
    assert client.get(PHONE).json() == {"phone_number": None, "verified": False}
    assert client.delete(f"{PHONE}/").status_code == 204  # nothing left to remove: still done


def test_queries_per_request_are_pinned(client, shopper, twilio_peer):
    assert count_queries(lambda: client.get(PHONE)) == 0  # no phone: nothing to look up
    sending = count_queries(lambda: client.post(PHONE, {"phone_number": NUMBER}, format="json"))
    code = last_code(twilio_peer)
    client.force_authenticate(fresh(shopper))
    pending = count_queries(lambda: client.get(PHONE))
    verifying = count_queries(lambda: client.post(VERIFY, {"otp": code}, format="json"))
    client.force_authenticate(fresh(shopper))
    removing = count_queries(lambda: client.delete(PHONE))
    # savepoint/release pairs are queries too: each atomic block is two
    # verifying also marks the number verified on the SMS channel (one upsert)
    # verifying and removing each log the SMS opt-in or opt-out (one insert each)
    assert (sending, pending, verifying, removing) == (5, 1, 7, 6)


def test_without_twilio_the_code_is_printed_and_still_verifies(client, shopper, settings, capsys):
    settings.TWILIO_ACCOUNT_SID = ""  # as in `make run`: the console twin prints the text

    assert client.post(PHONE, {"phone_number": NUMBER}, format="json").status_code == 202

    printed = capsys.readouterr().out
    assert "+1 •••-•••-0123" in printed and NUMBER not in printed
    code = re.search(r"Deal Alerts code: (\d{6})\.", printed).group(1)
    assert client.post(VERIFY, {"otp": code}, format="json").json() == {"phone_number": NUMBER, "verified": True}


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_guesses_get_no_extra_tries(twilio_peer, django_db_serialized_rollback):
    shopper = UserFactory()
    signed_in(shopper).post(PHONE, {"phone_number": NUMBER}, format="json")
    guess = wrong(last_code(twilio_peer))
    for _ in range(3):  # six guesses, two at a time
        answers = run_twice_at_once(lambda: signed_in(shopper).post(VERIFY, {"otp": guess}, format="json"))
        assert [a.status_code for a in answers] == [400, 400]
    assert PhoneVerification.objects.get(user=shopper).attempts == 5
