"""The ESP's tracking webhook, attacked: only the configured ESP's URL, only with a secret, only our messages.

Payloads are Postmark's webhook records as Postmark posts them
(https://postmarkapp.com/developer/webhooks/bounce-webhook and its siblings), sent to the
project's URL conf.
"""

import base64
import json
import uuid
from datetime import date

import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from notifications.delivery import deliver
from notifications.models import Address, Delivery, Digest
from tests.factories import UserFactory
from tests.notifications.test_delivery import queued

URL = "/anymail/postmark/tracking/"
SECRET = "hook:s3cret-9f2a"


def basic(credentials: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


AUTH = basic(SECRET)


@pytest.fixture
def webhook(postmark_peer, settings):
    """The Postmark backend, configured with a webhook secret, as the README tells an operator to."""
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}
    return postmark_peer


def bounce(message_id: str, *, email: str = "someone@example.com", **metadata: str) -> dict:
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "deal",
        "MessageID": message_id,
        "Metadata": metadata,
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "alerts@dealalerts.local",
        "BouncedAt": "2026-11-25T16:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "New deal",
    }


def post(client, payload, **headers):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(URL, body, content_type="application/json", **headers)


def email_off(user) -> bool:
    return Address.objects.filter(user=user, channel="email", disabled_at__isnull=False).exists()


def sent_delivery(user) -> Delivery:
    delivery = queued(user)
    deliver([delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.provider_id
    return delivery


# --- which URLs exist -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_webhook_secret_an_anonymous_bounce_finds_no_url(client, postmark_peer):
    victim = UserFactory()
    response = post(client, bounce(str(uuid.uuid4()), email=victim.email, user_id=str(victim.pk)))
    assert response.status_code == 404
    assert not email_off(victim)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/anymail/sendgrid/tracking/",
        "/anymail/mailjet/tracking/",
        "/anymail/mailgun/tracking/",
        "/anymail/amazon_ses/tracking/",
        "/anymail/sparkpost/tracking/",
        "/anymail/brevo/tracking/",
        "/anymail/mandrill/",
        "/anymail/mandrill/tracking/",
        "/anymail/postmark/inbound/",
        "/anymail/sendgrid/inbound/",
    ],
)
def test_only_the_configured_esps_tracking_url_exists(client, webhook, url):
    victim = UserFactory()
    response = client.post(url, json.dumps([{"event": "bounce", "user_id": victim.pk}]), "application/json", **AUTH)
    assert response.status_code == 404
    assert not email_off(victim)


@pytest.mark.django_db
def test_with_email_not_through_an_esp_there_is_no_webhook(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    assert post(client, bounce(str(uuid.uuid4())), **AUTH).status_code == 404


# --- credentials ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [{}, basic("hook:wrong"), basic("hook"), {"HTTP_AUTHORIZATION": "Bearer hook:s3cret-9f2a"}],
    ids=["missing", "wrong", "no-password", "not-basic"],
)
def test_wrong_or_missing_credentials_are_refused_and_nothing_is_recorded(client, webhook, headers):
    user = UserFactory()
    delivery = sent_delivery(user)
    response = post(client, bounce(delivery.provider_id, email=user.email, dedup_key=delivery.dedup_key), **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="ESP webhook"'
    delivery.refresh_from_db()
    assert delivery.provider_event == "" and not email_off(user)


# --- hostile bodies -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        b"\xff\xfe\x00",
        "[]",
        '"Bounce"',
        json.dumps({**bounce(str(uuid.uuid4())), "BouncedAt": 12}),
        json.dumps({**bounce(str(uuid.uuid4())), "BouncedAt": "2026-13-45T99:00:00Z"}),
        json.dumps({**bounce(str(uuid.uuid4())), "Type": ["HardBounce"]}),
        json.dumps({**bounce(str(uuid.uuid4())), "Metadata": ["user_id", 1]}),
    ],
    ids=[
        "not-json",
        "not-utf8",
        "array",
        "string",
        "date-a-number",
        "date-impossible",
        "type-a-list",
        "metadata-a-list",
    ],
)
def test_a_malformed_body_is_a_400_never_a_500(client, webhook, body):
    response = post(client, body, **AUTH)
    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "metadata",
    [{"user_id": "abc"}, {"user_id": "1; DROP TABLE"}, {"dedup_key": ["n1-email"]}, {"dedup_key": {"a": 1}}],
)
def test_odd_metadata_changes_nothing_and_is_no_500(client, webhook, metadata):
    user = UserFactory()
    delivery = sent_delivery(user)
    response = post(client, {**bounce(str(uuid.uuid4()), email=user.email), "Metadata": metadata}, **AUTH)
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.provider_event == "" and not email_off(user)


# --- events are trusted only for messages we sent ---------------------------------------------------


@pytest.mark.django_db
def test_a_forged_bounce_for_a_message_we_never_sent_changes_nothing(client, webhook):
    victim = UserFactory()
    sent_delivery(victim)
    response = post(client, bounce(str(uuid.uuid4()), email=victim.email, user_id=str(victim.pk)), **AUTH)
    assert response.status_code == 200  # well-formed: the ESP must not retry it
    assert not email_off(victim)


@pytest.mark.django_db
def test_a_bounce_naming_our_dedup_key_with_another_message_id_changes_nothing(client, webhook):
    victim = UserFactory()
    delivery = sent_delivery(victim)
    forged = bounce(str(uuid.uuid4()), email=victim.email, dedup_key=delivery.dedup_key, user_id=str(victim.pk))
    assert post(client, forged, **AUTH).status_code == 200
    delivery.refresh_from_db()
    assert delivery.provider_event == "" and not email_off(victim)


@pytest.mark.django_db
def test_a_bounce_for_our_message_stops_email_to_its_recipient_not_to_whoever_the_metadata_names(client, webhook):
    recipient, bystander = UserFactory(), UserFactory()
    delivery = sent_delivery(recipient)
    event = bounce(delivery.provider_id, email=recipient.email, dedup_key=delivery.dedup_key, user_id=str(bystander.pk))
    assert post(client, event, **AUTH).status_code == 200
    delivery.refresh_from_db()
    assert delivery.provider_event == "bounced"
    assert email_off(recipient) and not email_off(bystander)


@pytest.mark.django_db
def test_a_spam_complaint_about_a_digest_we_sent_stops_email(client, webhook):
    user = UserFactory()
    message_id = str(uuid.uuid4())
    digest = Digest.objects.create(
        user=user, period="daily", period_start=date(2026, 11, 25), created_at=timezone.now(),
        status="sent", sent_at=timezone.now(), provider_id=message_id,
    )  # fmt: skip
    complaint = {
        **bounce(message_id, email=user.email, digest_id=str(digest.pk), user_id=str(user.pk), kind="digest"),
        "RecordType": "SpamComplaint",
        "Type": "SpamComplaint",
        "TypeCode": 512,
    }
    assert post(client, complaint, **AUTH).status_code == 200
    assert Address.objects.get(user=user, channel="email").disabled_reason.startswith("complained")


# --- the deploy check ----------------------------------------------------------------------------


def test_check_deploy_fails_when_an_esp_backend_has_no_webhook_secret(settings):
    from notifications.checks import esp_webhook_secret

    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token"}
    [error] = esp_webhook_secret(app_configs=None)
    assert isinstance(error, Error) and "ANYMAIL_WEBHOOK_SECRET" in error.msg
    with pytest.raises(SystemCheckError, match="ANYMAIL_WEBHOOK_SECRET"):
        call_command("check", deploy=True, tags=["security"])


@pytest.mark.parametrize(
    ("backend", "anymail"),
    [
        ("anymail.backends.postmark.EmailBackend", {"POSTMARK_SERVER_TOKEN": "token", "WEBHOOK_SECRET": SECRET}),
        ("django.core.mail.backends.smtp.EmailBackend", {}),
        ("django.core.mail.backends.console.EmailBackend", {}),
    ],
)
def test_check_deploy_passes_with_a_secret_or_without_an_esp(settings, backend, anymail):
    from notifications.checks import esp_webhook_secret

    settings.EMAIL_BACKEND, settings.ANYMAIL = backend, anymail
    assert esp_webhook_secret(app_configs=None) == []
