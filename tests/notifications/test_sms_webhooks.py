"""Twilio's webhooks, posted and signed by the Twilio peer to a live server: replies and each text's fate."""

import pytest

from notifications.delivery import deliver
from notifications.events import DealEvent, RuleSource, notify
from notifications.models import Address, Delivery, NotificationPreferences
from tests.factories import ListingFactory, UserFactory, sms_user

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the live server reads what we wrote
PHONE = "+12015550123"


@pytest.fixture
def site(live_server, settings, twilio_peer):
    settings.SITE_URL = live_server.url
    return live_server.url


def deal_for(user):
    item = ListingFactory()
    [notification] = notify([DealEvent(user.pk, item.pk, RuleSource(1, "Bikes"), channels=("sms",))])
    return notification


def sms_address(user) -> Address:
    return Address.objects.get(user=user, channel="sms")


def prefs(user) -> NotificationPreferences:
    return NotificationPreferences.objects.get(user=user)


def test_stop_turns_sms_off_so_the_next_deal_goes_by_email_and_start_turns_it_back_on(site, twilio_peer):
    user = sms_user(PHONE)
    status, body = twilio_peer.post_inbound(f"{site}/twilio/sms/", PHONE, " stop ")
    assert status == 200 and "<Message>" not in body  # Twilio itself confirms a STOP
    assert sms_address(user).opted_out_at is not None
    assert prefs(user).channels == ["email", "sms"]  # the user's choice stands; the number is what opted out

    notification = deal_for(user)
    assert not Delivery.objects.filter(notification=notification, channel="sms").exists()
    email = Delivery.objects.get(notification=notification, channel="email")
    assert "by email instead: SMS is off because you replied STOP" in email.reason

    status, _ = twilio_peer.post_inbound(f"{site}/twilio/sms/", PHONE, "START")
    assert status == 200 and sms_address(user).opted_out_at is None
    again = deal_for(user)
    row = Delivery.objects.get(notification=again, channel="sms")
    assert deliver([row.pk]).sent == 1 and len(twilio_peer.messages) == 1


@pytest.mark.parametrize("word", ["STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"])
def test_every_stop_word_opts_out(site, twilio_peer, word):
    user = sms_user(PHONE)
    twilio_peer.post_inbound(f"{site}/twilio/sms/", PHONE, word.lower())
    assert sms_address(user).opted_out_at is not None


def test_help_replies_with_what_this_is_and_how_to_stop(site, twilio_peer):
    sms_user(PHONE)
    status, body = twilio_peer.post_inbound(f"{site}/twilio/sms/", PHONE, "help")
    assert status == 200 and "<Message>Deal Alerts:" in body and "Reply STOP to stop" in body


def test_a_bad_or_missing_signature_is_a_403_and_changes_nothing(site, twilio_peer, client):
    user = sms_user(PHONE)
    status, _ = twilio_peer.post_inbound(f"{site}/twilio/sms/", PHONE, "STOP", bad_signature=True)
    assert status == 403 and sms_address(user).opted_out_at is None
    assert client.post("/twilio/sms/", {"From": PHONE, "Body": "STOP"}).status_code == 403
    assert client.post("/twilio/status/?d=x", {"MessageSid": "SMx", "MessageStatus": "failed"}).status_code == 403
    assert sms_address(user).opted_out_at is None


def test_start_never_turns_on_sms_the_user_had_off(site, twilio_peer):
    user = sms_user(PHONE)
    NotificationPreferences.objects.filter(user=user).update(channels=["email"])
    twilio_peer.post_inbound(f"{site}/twilio/sms/", PHONE, "STOP")
    twilio_peer.post_inbound(f"{site}/twilio/sms/", PHONE, "START")
    assert prefs(user).channels == ["email"] and sms_address(user).opted_out_at is None


def test_without_a_twilio_token_the_webhooks_are_not_served(client, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    assert client.post("/twilio/sms/", {"From": PHONE, "Body": "STOP"}).status_code == 404
    assert client.post("/twilio/status/", {}).status_code == 404


def test_a_text_that_fails_after_twilio_accepted_it_falls_back_and_a_dead_number_is_disabled(
    site, twilio_peer, postmark_peer
):
    user = sms_user(PHONE)
    notification = deal_for(user)
    row = Delivery.objects.get(notification=notification, channel="sms")
    deliver([row.pk])
    [text] = twilio_peer.messages
    assert twilio_peer.post_status(text["sid"], "sent")[0] == 204
    assert twilio_peer.post_status(text["sid"], "undelivered", 30006)[0] == 204
    row.refresh_from_db()
    assert (row.status, row.provider_event) == ("failed", "undelivered")
    assert row.last_error == "Twilio 30006: the number is a landline or cannot receive texts"
    assert Address.objects.get(user=user, channel="sms").disabled_at is not None
    email = Delivery.objects.get(notification=notification, channel="email")
    assert email.reason.startswith("sent by email instead: SMS stopped working: Twilio 30006")
    # Reported twice (Twilio retries callbacks): still one fallback.
    twilio_peer.post_status(text["sid"], "undelivered", 30006)
    assert Delivery.objects.filter(notification=notification).count() == 2


def test_delivered_is_recorded_and_a_callback_for_someone_elses_text_changes_nothing(site, twilio_peer):
    user = sms_user(PHONE)
    row = Delivery.objects.get(notification=deal_for(user), channel="sms")
    deliver([row.pk])
    [text] = twilio_peer.messages
    twilio_peer.post_status(text["sid"], "delivered")
    row.refresh_from_db()
    assert row.provider_event == "delivered" and row.status == "sent"
    other = UserFactory()
    assert Delivery.objects.filter(notification__user=other).count() == 0
    Delivery.objects.filter(pk=row.pk).update(provider_id="SM-not-the-one")
    twilio_peer.post_status(text["sid"], "failed", 30005)  # the SID no longer names our delivery
    row.refresh_from_db()
    assert row.status == "sent"
