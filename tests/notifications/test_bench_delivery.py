"""`bench_delivery` end to end, small: real sinks and a real worker process, its JSON, and no rows left.

Like the crash test, the worker uses the test database and the configured broker (PostgreSQL and
Redis when set, else the SQLite file and the filesystem broker), so the test is transactional.
"""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from listings.models import Listing
from notifications.models import Address, ChannelDayCount, Delivery, Notification, NotificationPreferences
from tests.notifications.test_worker_crash import purge_delivery_queues


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_delivery_texts_each_user_up_to_the_cap_once_and_cleans_up():
    purge_delivery_queues()
    out = StringIO()

    call_command("bench_delivery", "--channel", "sms", "--deliveries", "20", "--timeout", "120", stdout=out)

    result = json.loads(out.getvalue())
    assert result["channel"] == "sms" and result["deliveries"] == 20 and result["users"] == 4
    assert result["per_s"] > 0
    assert (result["duplicates"], result["lost"], result["over_cap"], result["skipped"]) == (0, 0, 0, 0)
    assert result["fallback_emails"] == 0
    for model in (User, Listing, Notification, Delivery, Address, ChannelDayCount, NotificationPreferences):
        assert not model.objects.exists(), f"{model.__name__} rows left behind"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_delivery_emails_by_default_and_says_so():
    purge_delivery_queues()
    out = StringIO()

    call_command("bench_delivery", "--deliveries", "20", "--users", "4", "--timeout", "120", stdout=out)

    result = json.loads(out.getvalue())
    assert result["channel"] == "email" and result["deliveries"] == 20
    assert (result["duplicates"], result["lost"]) == (0, 0)
    assert not Delivery.objects.exists() and not User.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_delivery_to_discord_keeps_within_each_webhooks_limit_and_cleans_up():
    purge_delivery_queues()
    out = StringIO()

    call_command(
        "bench_delivery", "--channel", "discord", "--deliveries", "12", "--webhooks", "2", "--limit", "3",
        "--window", "0.5", "--timeout", "120", stdout=out,
    )  # fmt: skip

    result = json.loads(out.getvalue())
    assert result["channel"] == "discord" and result["deliveries"] == 12 and result["webhooks"] == 2
    assert (result["duplicates"], result["lost"], result["rate_limit_violations"]) == (0, 0, 0)
    assert result["limits_allow_s"] == 0.5 and result["elapsed_s"] >= 0.5
    assert "over_cap" not in result  # an SMS figure; Discord has no daily cap
    assert not Delivery.objects.exists() and not User.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_delivery_pushes_each_deal_to_its_browser_once_and_cleans_up():
    purge_delivery_queues()
    out = StringIO()

    call_command("bench_delivery", "--channel", "push", "--deliveries", "20", "--users", "5", stdout=out)

    result = json.loads(out.getvalue())
    assert result["channel"] == "push" and result["deliveries"] == 20 and result["per_s"] > 0
    assert (result["duplicates"], result["lost"], result["rate_limit_violations"]) == (0, 0, 0)
    for model in (User, Listing, Notification, Delivery, Address, NotificationPreferences):
        assert not model.objects.exists(), f"{model.__name__} rows left behind"
