"""Migration metrics 0003 logs what a site had before the event log, once, and takes back only that."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from activity.log import record
from activity.models import Event, Kind
from alerts.models import DealAlertRule
from notifications.models import Address
from tests.factories import UserFactory, sms_user

BEFORE = [("metrics", "0002_schedule_roll_up")]
AFTER = [("metrics", "0003_backfill_events")]
JOINED = datetime(2026, 3, 2, 12, tzinfo=UTC)


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def rule(user, name: str, days: int) -> DealAlertRule:
    made = DealAlertRule.objects.create(user=user, name=name, keywords=["x"])
    DealAlertRule.objects.filter(pk=made.pk).update(created_at=JOINED + timedelta(days=days))
    return made


def logged() -> list[tuple]:
    rows = Event.objects.order_by("kind", "user_id", "created_at")
    return list(rows.values_list("kind", "user_id", "ref_id", "repeat", "channel", "created_at", "detail"))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_users_rules_and_sms_numbers_are_logged_then_taken_back():
    dana = UserFactory(date_joined=JOINED)
    sam = sms_user(date_joined=JOINED + timedelta(days=1))
    verified = Address.objects.get(user=sam).verified_at
    opted_out = sms_user("+12015550199", date_joined=JOINED)
    Address.objects.filter(user=opted_out).update(opted_out_at=JOINED + timedelta(days=3))
    unverified = UserFactory(date_joined=JOINED)
    Address.objects.create(user=unverified, channel="sms", key="k")
    second, first = rule(dana, "second", days=5), rule(dana, "first", days=2)
    sams = rule(sam, "sam's", days=4)
    # Logged live already (a site that ran the new code before migrating): not written again.
    live = UserFactory(date_joined=JOINED)
    record(Kind.USER_SIGNED_UP, user_id=live.pk, now=JOINED)
    live_rows = logged()
    try:
        migrate(BEFORE)
        migrate(AFTER)
        assert sorted(logged()) == sorted(
            [
                *live_rows,
                (Kind.RULE_CREATED, dana.pk, first.pk, False, "", JOINED + timedelta(days=2), "backfill"),
                (Kind.RULE_CREATED, dana.pk, second.pk, True, "", JOINED + timedelta(days=5), "backfill"),
                (Kind.RULE_CREATED, sam.pk, sams.pk, False, "", JOINED + timedelta(days=4), "backfill"),
                (Kind.SMS_OPTED_IN, sam.pk, None, False, "sms", verified, "backfill"),
                *[
                    (Kind.USER_SIGNED_UP, user.pk, None, False, "", user.date_joined, "backfill")
                    for user in (dana, sam, opted_out, unverified)
                ],
            ]
        )
        migrate(BEFORE)
        assert logged() == live_rows
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
