"""Migration 0004 moves each email suppression into a disabled email address, and back when reversed."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dealalerts.encryption import digest
from tests.factories import UserFactory

BEFORE = [("notifications", "0003_schedule_digests")]
AFTER = [("notifications", "0004_addresses")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_suppressed_email_becomes_a_disabled_address_and_back():
    user = UserFactory(email="Dana@Example.com")
    try:
        old = migrate(BEFORE)
        old.get_model("notifications", "NotificationPreferences").objects.filter(user_id=user.pk).update(
            email_suppressed_at="2026-11-20T10:00:00Z", email_suppressed_reason="bounced: mailbox not found"
        )
        new = migrate(AFTER)
        [address] = new.get_model("notifications", "Address").objects.filter(user_id=user.pk)
        assert (address.channel, address.key) == ("email", digest("dana@example.com"))
        assert address.disabled_reason == "bounced: mailbox not found" and address.disabled_at is not None
        old = migrate(BEFORE)
        prefs = old.get_model("notifications", "NotificationPreferences").objects.get(user_id=user.pk)
        assert prefs.email_suppressed_reason == "bounced: mailbox not found"
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
