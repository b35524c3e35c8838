"""Writing the event log: what every app calls where something happens.

One small interface, so recording a fact is one line where it happens and costs one query
(`record`), or one query for a batch (`record_many`). Reads are the metrics app's business.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Event, Kind


def record(kind: str, *, now: datetime | None = None, **fields) -> Event:
    """Write one event; `fields` are `Event`'s (user_id, channel, ref_id, listing_id, …)."""
    return Event.objects.create(kind=kind, created_at=now or timezone.now(), **fields)


def record_many(events: Iterable[Event]) -> int:
    """Write a batch of unsaved `Event`s in one query; returns how many."""
    rows = list(events)
    if rows:
        Event.objects.bulk_create(rows)
    return len(rows)


def record_once(kind: str, external_id: str, *, now: datetime | None = None, **fields) -> bool:
    """Write an event that carries a provider's own id (an ESP tracking event) unless it is already here.

    Webhooks are delivered at least once: the same event twice records one row. True when written.
    """
    try:
        with transaction.atomic():
            record(kind, external_id=external_id[:100], now=now, **fields)
    except IntegrityError:
        return False
    return True


def firsts(kind: str, ref_id: int, channel: str, *, machine: bool, user_id: int | None = None) -> dict[str, bool]:
    """`repeat` and `first_human` for a new `kind` event about `ref_id` on `channel` (one query).

    Spread into `record(...)`: a second click is a repeat; a person's first open after a privacy
    proxy's is a repeat (the message was already "opened") but still the first human one. Pass
    `user_id` when `ref_id` is shared between users (a listing recommended to many): then only that
    user's earlier events count.
    """
    earlier = Event.objects.filter(kind=kind, ref_id=ref_id, channel=channel)
    if user_id is not None:
        earlier = earlier.filter(user_id=user_id)
    seen = set(earlier.values_list("machine", flat=True))
    return {"repeat": bool(seen), "first_human": not machine and False not in seen}


__all__ = ["Event", "Kind", "firsts", "record", "record_many", "record_once"]
