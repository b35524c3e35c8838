"""Recommendation impressions and clicks move to the event log (`activity.Event`).

Forwards copies every `RecommendationEvent` into the log, then drops the table. Backwards brings
the table back and copies the log's recommendation events into it (those recorded since too), then
removes them from the log, so going forwards again copies them once more and nothing is doubled.
Events whose user or listing is gone cannot be copied back (the old table had foreign keys).

Old clicks carry no user agent: they count as people's. A click's `ref_id` is its listing, and
`repeat` marks a user's later clicks on the same listing from the same surface, as the live
recording does (`recommendations.services.record_click`).
"""

from django.db import migrations

BATCH = 2000
SHOWN, CLICKED = "recommendation.shown", "recommendation.clicked"


def copy_to_the_log(apps, schema_editor):
    RecommendationEvent = apps.get_model("recommendations", "RecommendationEvent")
    Event = apps.get_model("activity", "Event")
    clicked: set[tuple[int, int, str]] = set()
    batch = []
    rows = RecommendationEvent.objects.order_by("created_at", "id").values_list(
        "user_id", "listing_id", "action", "surface", "rank", "created_at"
    )
    for user_id, listing_id, action, surface, rank, created_at in rows.iterator(chunk_size=BATCH):
        event = Event(
            kind=CLICKED if action == "clicked" else SHOWN,
            channel=surface,
            user_id=user_id,
            listing_id=listing_id,
            rank=rank,
            created_at=created_at,
        )
        if action == "clicked":
            key = (user_id, listing_id, surface)
            event.ref_id = listing_id
            event.repeat = key in clicked
            event.first_human = not event.repeat
            clicked.add(key)
        batch.append(event)
        if len(batch) >= BATCH:
            Event.objects.bulk_create(batch)
            batch = []
    Event.objects.bulk_create(batch)


def copy_back(apps, schema_editor):
    RecommendationEvent = apps.get_model("recommendations", "RecommendationEvent")
    Event = apps.get_model("activity", "Event")
    Listing = apps.get_model("listings", "Listing")
    events = Event.objects.filter(kind__in=[SHOWN, CLICKED])
    batch = []
    rows = events.filter(user__isnull=False, listing_id__in=Listing.objects.values("id")).values_list(
        "user_id", "listing_id", "kind", "channel", "rank", "created_at"
    )
    for user_id, listing_id, kind, channel, rank, created_at in rows.iterator(chunk_size=BATCH):
        batch.append(
            RecommendationEvent(
                user_id=user_id,
                listing_id=listing_id,
                action="clicked" if kind == CLICKED else "shown",
                surface=channel,
                rank=rank,
                created_at=created_at,
            )
        )
        if len(batch) >= BATCH:
            RecommendationEvent.objects.bulk_create(batch)
            batch = []
    RecommendationEvent.objects.bulk_create(batch)
    events.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0002_refresh_schedule"),
        ("activity", "0001_initial"),
        ("listings", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(copy_to_the_log, copy_back),
        migrations.DeleteModel(name="RecommendationEvent"),
    ]
