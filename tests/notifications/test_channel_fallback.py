"""A rule whose channels cannot be used is never a silent dead end: notify, history and settings say where it went."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from notifications.events import DealEvent, RuleSource, notify
from notifications.models import Delivery, NotificationPreferences
from notifications.preferences import preferences_summary
from tests.factories import ListingFactory, UserFactory

pytestmark = pytest.mark.django_db
NOON_LA = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


def event(user, listing, channels=()) -> DealEvent:
    source = RuleSource(1, "Texts for ThinkPads", 'mentions "thinkpad"')
    return DealEvent(user_id=user.pk, listing_id=listing.pk, source=source, channels=channels)


def deliveries(user) -> list[tuple[str, str, str]]:
    return list(Delivery.objects.filter(notification__user=user).values_list("channel", "status", "reason"))


def test_a_rule_asking_for_sms_before_sms_is_set_up_is_delivered_by_email_saying_why():
    user = UserFactory()
    notify([event(user, ListingFactory(), channels=("sms",))], now=NOON_LA)
    assert deliveries(user) == [("email", "pending", "sent (by email instead: SMS is not set up)")]


def test_a_rule_asking_for_email_and_sms_uses_email_and_names_sms_in_the_history():
    user = UserFactory()
    notify([event(user, ListingFactory(), channels=("email", "sms"))], now=NOON_LA)
    assert deliveries(user) == [("email", "pending", "sent (SMS is not set up)")]
    client = Client()
    client.force_login(user)
    assert "sent (SMS is not set up)" in client.get("/notifications/").content.decode()


def test_an_unconfirmed_address_is_not_used_and_the_history_says_what_to_fix():
    user = UserFactory(email_confirmed_at=None)
    notify([event(user, ListingFactory())], now=NOON_LA)
    reason = "skipped: no channel can reach you (Email is not confirmed yet): fix it in your settings"
    assert deliveries(user) == [("email", "skipped", reason)]
    client = Client()
    client.force_login(user)
    # The page shows the status as a badge, then what the reason adds.
    assert reason.removeprefix("skipped: ") in client.get("/notifications/").content.decode()


def test_the_settings_page_shows_when_no_channel_can_reach_the_user():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    assert 'id="no-channel"' not in client.get("/notifications/settings/").content.decode()
    NotificationPreferences.objects.filter(user=user).update(channels=[])
    page = client.get("/notifications/settings/").content.decode()
    assert 'id="no-channel"' in page and "No channel can reach you now" in page
    summary = preferences_summary(user)
    assert summary["usable_channels"] == [] and summary["verified_channels"] == ["email"]


def test_the_summary_names_the_unconfirmed_address_as_the_problem(api_client):
    user = UserFactory(email_confirmed_at=None)
    api_client.force_authenticate(user)
    summary = api_client.get("/api/notification-preferences/summary").json()
    assert summary["verified_channels"] == [] and summary["usable_channels"] == []
    assert summary["channel_problems"] == ["Email is not confirmed yet"]
    assert summary["email"]["confirmed_at"] is None
    # Email may stay on meanwhile: it starts working once the address is confirmed.
    response = api_client.patch("/api/notification-preferences/channels", {"channels": ["email"]}, format="json")
    assert response.status_code == 200, response.json()


def test_a_queued_email_is_not_sent_once_the_address_needs_confirming_again(mailoutbox):
    from notifications.delivery import deliver

    user = UserFactory()
    notify([event(user, ListingFactory())], now=NOON_LA)
    type(user).objects.filter(pk=user.pk).update(email_confirmed_at=None)  # e.g. staff changed the address
    result = deliver(list(Delivery.objects.values_list("id", flat=True)))
    assert result.skipped == 1 and mailoutbox == []
    assert deliveries(user) == [
        ("email", "skipped", "skipped: your email address changed and is not confirmed yet: use the link we sent")
    ]
