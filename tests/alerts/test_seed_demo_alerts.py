"""The demo shopper's alerts: created once, matched at once, the policy's cap visible in the history."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from alerts.models import DealAlertRule
from listings.management.commands.seed_demo import DEMO_EMAIL
from notifications.models import Delivery
from tests.factories import ListingFactory, UserFactory


@pytest.mark.django_db
def test_demo_alerts_are_created_once_and_matched_against_recent_listings(capsys):
    with pytest.raises(CommandError):
        call_command("seed_demo_alerts")
    shopper = UserFactory(email=DEMO_EMAIL)
    for i in range(12):
        ListingFactory(title=f"Lenovo ThinkPad T{i} laptop", price=Decimal(400), deal_score=0.5)
    call_command("seed_demo_alerts")
    call_command("seed_demo_alerts")  # again: nothing more
    assert DealAlertRule.objects.filter(user=shopper).count() == 3
    statuses = list(Delivery.objects.filter(notification__user=shopper).values_list("status", flat=True))
    assert statuses.count("pending") == 10 and statuses.count("held") == 2  # the default daily cap of 10
    assert "already has alert rules" in capsys.readouterr().out
