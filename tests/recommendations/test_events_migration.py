"""Migration 0003 moves recommendation impressions and clicks into the event log, and back."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from activity.models import Event
from tests.factories import ListingFactory, UserFactory

BEFORE = [("recommendations", "0002_refresh_schedule")]
AFTER = [("recommendations", "0003_events_to_activity")]
MONDAY = datetime(2026, 11, 23, 9, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def as_rows(old_events) -> list[tuple]:
    return sorted(old_events.values_list("user_id", "listing_id", "action", "surface", "rank", "created_at"))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_old_impressions_and_clicks_become_events_and_come_back():
    user, other, listing = UserFactory(), UserFactory(), ListingFactory()
    try:
        old = migrate(BEFORE)
        RecommendationEvent = old.get_model("recommendations", "RecommendationEvent")
        for who, action, minutes in [
            (user, "shown", 0),
            (user, "clicked", 1),
            (user, "clicked", 2),
            (other, "clicked", 3),
        ]:
            RecommendationEvent.objects.create(
                user_id=who.pk,
                listing_id=listing.pk,
                action=action,
                surface="digest",
                rank=2,
                created_at=MONDAY.replace(minute=minutes),
            )
        before = as_rows(RecommendationEvent.objects.all())

        new = migrate(AFTER)
        events = new.get_model("activity", "Event").objects.order_by("created_at")
        assert list(events.values_list("kind", "channel", "user_id", "listing_id", "rank", "ref_id", "repeat")) == [
            ("recommendation.shown", "digest", user.pk, listing.pk, 2, None, False),
            ("recommendation.clicked", "digest", user.pk, listing.pk, 2, listing.pk, False),
            ("recommendation.clicked", "digest", user.pk, listing.pk, 2, listing.pk, True),
            ("recommendation.clicked", "digest", other.pk, listing.pk, 2, listing.pk, False),
        ]
        assert [e.first_human for e in events] == [False, True, False, True]

        old = migrate(BEFORE)
        assert as_rows(old.get_model("recommendations", "RecommendationEvent").objects.all()) == before
        assert not Event.objects.exists(), "moved back, not copied: no doubles"
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
