"""The demo shopper's alerts: created once, a history spread over the days it happened, room under today's cap."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import User
from alerts.management.commands.seed_demo_alerts import DEMO_MAX_PER_DAY, DEMO_RULES
from alerts.models import DealAlertRule
from listings.management.commands.seed_demo import DEMO_EMAIL
from notifications.models import Delivery, DeliveryStatus, Notification
from notifications.preferences import preferences_summary
from tests.factories import ListingFactory, UserFactory


@pytest.mark.django_db
def test_demo_alerts_are_created_once_and_the_history_falls_on_the_days_it_happened(capsys):
    with pytest.raises(CommandError):
        call_command("seed_demo_alerts")
    shopper = UserFactory(email=DEMO_EMAIL)
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    for i in range(12):
        ListingFactory(
            title=f"Lenovo ThinkPad T{i} laptop", price=Decimal(400), deal_score=0.5, first_seen_at=yesterday
        )
    for i in range(3):
        ListingFactory(title=f"Lenovo ThinkPad X{i} laptop", price=Decimal(400), deal_score=0.5, first_seen_at=now)
    call_command("seed_demo_alerts")
    call_command("seed_demo_alerts")  # again: nothing more
    assert DealAlertRule.objects.filter(user=shopper).count() == len(DEMO_RULES)
    assert "already has alert rules" in capsys.readouterr().out

    local_day = {when: when.astimezone(shopper.time_zone).date() for when in (yesterday, now)}
    earlier = Delivery.objects.filter(notification__local_day=local_day[yesterday])
    # Yesterday's went out yesterday (within that day's cap): recorded so, and no worker sends them again.
    assert list(earlier.values_list("status", flat=True)) == [DeliveryStatus.SENT] * 12
    assert all(d.sent_at == yesterday for d in earlier)
    # Today's are new: the worker sends them; they take 3 of today's cap and leave room for the live feed.
    today = Delivery.objects.filter(notification__local_day=local_day[now])
    assert list(today.values_list("status", flat=True)) == [DeliveryStatus.PENDING] * 3
    summary = preferences_summary(shopper)
    assert summary["sent_today"] == 3 and summary["remaining_today"] == DEMO_MAX_PER_DAY - 3


@pytest.mark.django_db
def test_after_the_whole_demo_seed_the_shopper_has_room_under_todays_cap():
    call_command("seed_demo", listings=600, days=6)
    call_command("seed_demo_alerts")
    shopper = User.objects.get(email=DEMO_EMAIL)
    assert shopper.email_confirmed_at is not None  # the demo's email is a usable channel
    summary = preferences_summary(shopper)
    assert "email" in summary["usable_channels"]
    assert summary["remaining_today"] >= 5, summary
    days = set(Notification.objects.filter(user=shopper).values_list("local_day", flat=True))
    assert len(days) >= 2  # a history over several days, not all of it today
