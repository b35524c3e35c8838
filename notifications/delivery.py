"""Delivery: sending the outbox's rows through their channels, retrying, falling back, and the sweep.

Workers `deliver` outbox rows: each row is claimed by one conditional UPDATE, so a retry or a second
worker never sends it twice. The periodic `sweep` enqueues deferred rows that are due and resolves
rows whose worker died mid-send.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from time import monotonic

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from dealalerts.db import update_rows

from . import channels
from .models import Delivery, DeliveryStatus
from .preferences import preferences_for, preferences_missing, verified_channels
from .tracking import suppress_email

MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 30
BACKOFF_MAX_S = 3600
DELIVERY_BATCH = 100
SWEEP_LIMIT = 5000


def dedup_key(notification_id: int, channel: str) -> str:
    return f"n{notification_id}-{channel}"


def enqueue(deliveries: list[Delivery]) -> None:
    """Hand due deliveries to workers in batches; urgent ones on their own high-priority queue."""
    from .tasks import deliver_batch

    for urgent in (True, False):
        ids = [d.id for d in deliveries if d.urgent == urgent]
        for start in range(0, len(ids), DELIVERY_BATCH):
            batch = ids[start : start + DELIVERY_BATCH]
            deliver_batch.apply_async(args=[batch], queue="urgent" if urgent else "notify")


# --- delivery -----------------------------------------------------------------------------------


def claim(delivery_ids: list[int], now: datetime) -> list[int]:
    """Atomically mark due rows as sending and return those this caller won; one statement.

    A concurrent claimer of the same row waits for our commit, re-reads the status, and gets
    nothing: exactly one worker ever holds a row.
    """
    if not delivery_ids:
        return []
    table = Delivery._meta.db_table
    marks = ", ".join(["%s"] * len(delivery_ids))
    # As the ORM stores it: on SQLite, a naive UTC text the sweep's `claimed_at=` comparisons match.
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, attempts = attempts + 1, claimed_at = %s "
            f"WHERE id IN ({marks}) AND status IN (%s, %s) AND (not_before IS NULL OR not_before <= %s) "
            f"RETURNING id",
            [DeliveryStatus.SENDING, stamp, *delivery_ids, DeliveryStatus.PENDING, DeliveryStatus.DEFERRED, stamp],
        )
        return sorted(row[0] for row in cursor.fetchall())


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    released: int = 0


def deliver(delivery_ids: list[int], *, now: datetime | None = None) -> BatchResult:
    """Claim, send and settle a batch. Queries: one claim, one load, then the settles.

    Where the provider can be asked whether it has a message (`Channel.can_find_sent`), the
    batch's sends are recorded together at the end: if the worker dies first, those rows stay
    `sending` and the sweep finds them at the provider. Elsewhere each row is settled before the
    next send, so a crash leaves at most the row being sent in doubt.

    Rows still unsent when half of NOTIFICATIONS_SENDING_TIMEOUT has passed since the claim are
    handed back (pending, enqueued again): past the timeout the sweep takes claimed rows back and
    re-enqueues them, and we must not be sending them then as well.
    """
    result = BatchResult()
    claimed = claim(delivery_ids, now or timezone.now())
    result.claimed = len(claimed)
    if not claimed:
        return result
    hand_back_at = monotonic() + settings.NOTIFICATIONS_SENDING_TIMEOUT / 2
    rows = list(
        Delivery.objects.filter(id__in=claimed)
        .select_related("notification__listing", "notification__user__notification_preferences")
        .order_by("channel", "id")
    )
    done = 0
    for channel_name, group in groupby(rows, key=lambda d: d.channel):
        channel = channels.get(channel_name)
        sent: list[dict] = []  # recorded together, when the provider can be asked after a crash
        try:
            with channel.session():
                for delivery in group:
                    if monotonic() >= hand_back_at:
                        break
                    done += 1
                    blocked = _blocked_reason(delivery, channel)
                    if blocked:
                        _settle_skipped(delivery, blocked)
                        result.skipped += 1
                        continue
                    outcome = channel.send(delivery)
                    if isinstance(outcome, channels.Sent) and channel.can_find_sent():
                        sent.append(_sent_row(delivery, outcome))
                        result.sent += 1
                        continue
                    settled = settle(delivery, outcome)
                    setattr(result, settled, getattr(result, settled) + 1)
        finally:
            update_rows(
                Delivery, sent, ("status", "sent_at", "provider_id", "last_error"), only_where={"status": "sending"}
            )
        if monotonic() >= hand_back_at:
            break
    if done < len(rows):
        result.released = release(rows[done:])
    return result


def _sent_row(delivery: Delivery, outcome: channels.Sent) -> dict:
    return {
        "id": delivery.pk,
        "status": DeliveryStatus.SENT,
        "sent_at": timezone.now(),
        "provider_id": outcome.provider_id[:200],
        "last_error": "",
    }


def release(deliveries: list[Delivery]) -> int:
    """Give claimed rows back unsent: pending again, their claim's attempt undone, and enqueued."""
    released = Delivery.objects.filter(pk__in=[d.pk for d in deliveries], status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.PENDING, attempts=F("attempts") - 1
    )
    transaction.on_commit(lambda: enqueue(deliveries))  # a row no longer ours is not claimed again
    return released


def _blocked_reason(delivery: Delivery, channel: channels.Channel) -> str:
    """Why a claimed row must not go out after all: the user changed their mind since it was queued."""
    user = delivery.notification.user
    prefs = user.notification_preferences if not preferences_missing(user) else preferences_for(user)
    if delivery.channel not in prefs.channels:
        return f"skipped: you turned {delivery.channel} off"
    blocked = channel.blocked_because(user, prefs)
    return f"skipped: {blocked}" if blocked else ""


def backoff_seconds(attempts: int, retry_after: float | None) -> float:
    delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    return max(delay, retry_after or 0)


def settle(delivery: Delivery, outcome: channels.Result, *, now: datetime | None = None) -> str:
    """Record a send's outcome on a row we hold; returns 'sent', 'retrying' or 'failed'."""
    now = now or timezone.now()
    mine = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING)
    if isinstance(outcome, channels.Sent):
        mine.update(status=DeliveryStatus.SENT, sent_at=now, provider_id=outcome.provider_id[:200], last_error="")
        return "sent"
    if isinstance(outcome, channels.Transient) and delivery.attempts < MAX_ATTEMPTS:
        not_before = now + timedelta(seconds=backoff_seconds(delivery.attempts, outcome.retry_after))
        mine.update(status=DeliveryStatus.DEFERRED, not_before=not_before, last_error=outcome.error)
        return "retrying"
    error = outcome.error
    if isinstance(outcome, channels.Transient):
        error = f"gave up after {delivery.attempts} attempts: {error}"
    mine.update(status=DeliveryStatus.FAILED, last_error=error)
    if isinstance(outcome, channels.Permanent) and outcome.address_dead and delivery.channel == "email":
        suppress_email(delivery.notification.user_id, f"the address was refused: {outcome.error}"[:200], now)
    elif delivery.channel != "email":
        fall_back_to_email(delivery, now)
    return "failed"


def _settle_skipped(delivery: Delivery, reason: str) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.SKIPPED, reason=reason
    )


def fall_back_to_email(delivery: Delivery, now: datetime) -> Delivery | None:
    """One email instead of a channel that failed for good, unless the notification already has one."""
    user = delivery.notification.user
    prefs = preferences_for(user)
    if "email" not in verified_channels(user, prefs):
        return None
    fallback, created = Delivery.objects.get_or_create(
        dedup_key=dedup_key(delivery.notification_id, "email"),
        defaults={
            "notification_id": delivery.notification_id,
            "channel": "email",
            "urgent": delivery.urgent,
            "reason": f"sent by email instead: {delivery.channel} failed",
            "created_at": now,
        },
    )
    if created:
        transaction.on_commit(lambda: enqueue([fallback]))
    return fallback if created else None


# --- the sweep: deferred rows that are due, and rows stuck in `sending` ---------------------------


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Enqueue due deferred (and never-enqueued) rows; resolve rows whose worker died mid-send."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT)
    stuck = list(
        Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=stale)
        .select_related("notification")
        .order_by("id")[:SWEEP_LIMIT]
    )
    recovered: list[Delivery] = []
    already_sent = 0
    for delivery in stuck:
        try:
            provider_id = channels.get(delivery.channel).find_sent(delivery)
        except Exception:  # the provider cannot be asked now; the next sweep will
            continue
        mine = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=delivery.claimed_at)
        if provider_id:
            already_sent += mine.update(status=DeliveryStatus.SENT, sent_at=now, provider_id=provider_id[:200])
        elif mine.update(status=DeliveryStatus.PENDING, last_error="worker stopped mid-send; retried"):
            recovered.append(delivery)
    # Pending rows older than a minute were never picked up (their message was lost with a broker).
    due = list(
        Delivery.objects.filter(
            Q(status=DeliveryStatus.DEFERRED, not_before__lte=now)
            | Q(status=DeliveryStatus.PENDING, created_at__lte=now - timedelta(minutes=1))
        ).order_by("id")[:SWEEP_LIMIT]
    )
    recovered_ids = {d.id for d in recovered}
    enqueue(recovered + [d for d in due if d.id not in recovered_ids])
    return {"due": len(due), "stuck_resent": len(recovered), "stuck_already_sent": already_sent}
