"""Delivery: sending the outbox's rows through their channels, retrying, falling back, and the sweep.

Workers `deliver` outbox rows: each row is claimed by one conditional UPDATE, so a retry or a second
worker never sends it twice. The periodic `sweep` enqueues deferred rows that are due and resolves
rows whose worker died mid-send.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby
from time import monotonic

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from activity.log import Event, Kind, record_many
from dealalerts.db import update_rows

from . import addresses as address_state
from . import channels, content, event_log, policy
from .models import Address, ChannelDayCount, Delivery, DeliveryStatus
from .preferences import (
    channel_addresses,
    policy_preferences,
    preferences_for,
    preferences_missing,
    stored_addresses,
)

DELIVERY_BATCH = 100
DELIVER_SOFT_LIMIT_S = 120  # the deliver task's soft time limit; a batch hands back its unsent rows before it
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
    deferred: int = 0
    released: int = 0


@dataclass
class Attempt:
    """One claimed row on its way out: what the policy and the channel need about its user, read once."""

    delivery: Delivery
    prefs: policy.Preferences
    addresses: list[Address]
    # The batch's events, written together by `deliver` with one query; outside a batch (an SMS
    # status callback), `note` writes each at once.
    events: list[Event] | None = field(default=None, repr=False)

    @property
    def provider(self) -> str:
        return event_log.provider(self.delivery.channel, self.addresses)

    def note(self, kind: str, *, detail: str = "", now: datetime) -> None:
        event = event_log.delivery_event(kind, self.delivery, self.provider, detail=detail, now=now)
        if self.events is None:
            record_many([event])
        else:
            self.events.append(event)


def deliver(delivery_ids: list[int], *, now: datetime | None = None) -> BatchResult:
    """Claim, send and settle a batch. Queries: one claim, two loads, then the settles, and one
    write of the batch's events (sent, retried, failed, fell back).

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
    # Before the sweep may take the rows back, and before the task's soft time limit interrupts a send.
    hand_back_at = monotonic() + min(settings.NOTIFICATIONS_SENDING_TIMEOUT / 2, DELIVER_SOFT_LIMIT_S - 20)
    rows = list(
        Delivery.objects.filter(id__in=claimed)
        .select_related("notification__listing", "notification__user__notification_preferences")
        .order_by("channel", "id")
    )
    stored = stored_addresses({d.notification.user_id for d in rows})
    done = 0
    events: list[Event] = []
    try:
        done = _deliver_rows(rows, stored, events, result, hand_back_at)
    finally:
        record_many(events)  # what was sent before a crash is still counted
    if done < len(rows):
        result.released = release(rows[done:])
    return result


def _deliver_rows(
    rows: list[Delivery], stored: dict, events: list[Event], result: BatchResult, hand_back_at: float
) -> int:
    """Send and settle the claimed rows, channel by channel; returns how many were dealt with."""
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
                    attempt = _attempt(delivery, channel, stored[delivery.notification.user_id], events)
                    outcome = _send(attempt, channel)
                    if isinstance(outcome, str):
                        setattr(result, outcome, getattr(result, outcome) + 1)
                        continue
                    if isinstance(outcome, channels.Sent) and channel.can_find_sent():
                        sent.append(_sent_row(delivery, outcome))
                        attempt.note(Kind.NOTIFICATION_SENT, now=sent[-1]["sent_at"])
                        result.sent += 1
                        continue
                    settled = settle(attempt, outcome)
                    setattr(result, settled, getattr(result, settled) + 1)
        finally:
            update_rows(Delivery, sent, SENT_FIELDS, only_where={"status": DeliveryStatus.SENDING})
        if monotonic() >= hand_back_at:
            break
    return done


def _attempt(
    delivery: Delivery, channel: channels.Channel, stored: list[Address], events: list[Event] | None = None
) -> Attempt:
    user = delivery.notification.user
    prefs = user.notification_preferences if not preferences_missing(user) else preferences_for(user)
    addresses = channel_addresses(user, stored)  # worked out once: the policy and the send both read them
    return Attempt(delivery, policy_preferences(user, prefs, stored, addresses), addresses[channel.name], events)


def _send(attempt: Attempt, channel: channels.Channel) -> channels.Result | str:
    """Send one claimed row, or say why not now: 'skipped' or 'deferred' (already settled)."""
    delivery = attempt.delivery
    now = timezone.now()
    if delivery.channel not in attempt.prefs.channels:  # the user's choice since: nothing stands in for it
        _settle_skipped(delivery, f"skipped: you turned {channel.in_words} off")
        return "skipped"
    blocked = _blocked_reason(attempt, channel)
    if blocked:  # the address stopped working, or opted out, since it was queued: the policy may fall back
        _settle_skipped(delivery, f"skipped: {blocked}")
        fall_back(attempt, blocked, now)
        return "skipped"
    wait = policy.send_time(now, attempt.prefs, urgent=delivery.urgent)
    if wait is not None:  # queued just before quiet hours began, and reached a worker just after
        _settle_deferred(delivery, wait)
        return "deferred"
    day = now.astimezone(delivery.notification.user.time_zone).date()  # the cap is per day of sending
    if channel.daily_cap is not None and not reserve(delivery, channel.daily_cap, day):
        why = f"{channel.label} daily limit of {channel.daily_cap} reached"
        if policy.FALLBACK_CHANNEL in attempt.prefs.own_channels:  # email has it, or gets it now
            _settle_skipped(delivery, f"not by {channel.in_words}: {why}")
            fall_back(attempt, why, now)
            return "skipped"
        _settle_deferred(delivery, policy.tomorrow(channel.name, why, attempt.prefs, now, urgent=delivery.urgent))
        return "deferred"
    message = content.deal_message(delivery.notification, channel.name, delivery.dedup_key, delivery_id=delivery.pk)
    outcome = send_to_addresses(channel, [a for a in attempt.addresses if a.usable], message, delivery.dedup_key)
    if channel.daily_cap is not None and not isinstance(outcome, channels.Sent):
        unreserve(delivery, day)  # what never reached the user does not count toward the cap
    return outcome


def send_to_addresses(
    channel: channels.Channel, targets: list[Address], message: channels.Message, key: str
) -> channels.Result:
    """Send to each of the user's usable addresses on the channel (one, but for push: each browser).

    A dead address is disabled as soon as its provider says so. The delivery is sent when any
    address took it, retried when none did but one may yet, and failed when none can.
    """
    if not targets:
        return channels.Permanent(f"no {channel.label} address can be used")
    if len(targets) == 1:
        return channel.send(targets[0], message, key)
    outcomes = [channel.send(address, message, f"{key}-{address.pk}") for address in targets]
    for address, outcome in zip(targets, outcomes, strict=True):
        if isinstance(outcome, channels.Permanent) and outcome.address_dead:
            address_state.disable(address, outcome.error)
    if sent := [o for o in outcomes if isinstance(o, channels.Sent)]:
        return channels.Sent(" ".join(o.provider_id for o in sent))
    if transient := [o for o in outcomes if isinstance(o, channels.Transient)]:
        return transient[0]
    return channels.Permanent(
        "; ".join(o.error for o in outcomes),
        address_dead=all(o.address_dead for o in outcomes),
        opted_out=any(o.opted_out for o in outcomes),
    )


SENT_FIELDS = ("status", "sent_at", "provider_id", "last_error")


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


def _blocked_reason(attempt: Attempt, channel: channels.Channel) -> str:
    """Why a claimed row must not go out after all: its address changed, died or opted out since it was
    queued, or the channel is now kept for urgent deals."""
    delivery = attempt.delivery
    user = delivery.notification.user
    blocked = channel.blocked_because(user, user.notification_preferences, attempt.addresses)
    return blocked or attempt.prefs.held_back_because(channel.name, delivery.urgent, {})


# --- per-channel daily caps: reserved one message at a time, exact under concurrency -----------


def reserve(delivery: Delivery, cap: int, day: date) -> bool:
    """Take one of `cap` messages on this channel for the delivery's user on their local `day` (of sending);
    False when none is left.

    One conditional upsert: concurrent workers queue on the counter's row, so at the cap exactly
    `cap` of them win, however many try at once.
    """
    table = ChannelDayCount._meta.db_table
    user_id = delivery.notification.user_id
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, channel, local_day, count) VALUES (%s, %s, %s, 1) "
            f"ON CONFLICT (user_id, channel, local_day) DO UPDATE SET count = {table}.count + 1 "
            f"WHERE {table}.count < %s RETURNING count",
            [user_id, delivery.channel, day, cap],
        )
        return cursor.fetchone() is not None


def unreserve(delivery: Delivery, day: date) -> None:
    ChannelDayCount.objects.filter(
        user_id=delivery.notification.user_id,
        channel=delivery.channel,
        local_day=day,
        count__gt=0,
    ).update(count=F("count") - 1)


# --- settling: sent, retried when the policy says, or failed and fallen back ------------------


def settle(attempt: Attempt, outcome: channels.Result, *, now: datetime | None = None) -> str:
    """Record a send's outcome on a row we hold; returns 'sent', 'retrying' or 'failed'."""
    now = now or timezone.now()
    delivery = attempt.delivery
    if isinstance(outcome, channels.Sent):
        _record_sent(delivery, outcome, now)
        attempt.note(Kind.NOTIFICATION_SENT, now=now)
        return "sent"
    mine = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING)
    if isinstance(outcome, channels.Transient):
        at = policy.retry_at(now, delivery.attempts, outcome.retry_after, attempt.prefs, urgent=delivery.urgent)
        if at is not None:
            mine.update(status=DeliveryStatus.DEFERRED, not_before=at, last_error=outcome.error)
            attempt.note(Kind.NOTIFICATION_RETRIED, detail=outcome.error, now=now)
            return "retrying"
    error = outcome.error
    if isinstance(outcome, channels.Transient):
        error = f"gave up after {delivery.attempts} attempts: {error}"
    mine.update(status=DeliveryStatus.FAILED, last_error=error)
    attempt.note(Kind.NOTIFICATION_FAILED, detail=error, now=now)
    fail(attempt, outcome, now)
    return "failed"


def _record_sent(delivery: Delivery, outcome: channels.Sent, now: datetime) -> None:
    """One row sent, where the provider cannot be asked after a crash (SMS), so once per message:
    a plain UPDATE by id, as `claim` writes it. Measured per row: 0.33 ms, against 0.43 ms for
    `update_rows`' join on a VALUES list and 0.49 ms through the ORM."""
    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, provider_id = %s, last_error = %s "
            f"WHERE id = %s AND status = %s",
            [
                DeliveryStatus.SENT,
                connection.ops.adapt_datetimefield_value(now),
                outcome.provider_id[:200],
                "",
                delivery.pk,
                DeliveryStatus.SENDING,
            ],
        )


def fail(attempt: Attempt, outcome: channels.Permanent | channels.Transient, now: datetime) -> None:
    """What follows a send that failed for good, whenever we learn it: a dead address disabled, an
    opt-out honoured, and the notification fallen back to email when the policy allows."""
    delivery = attempt.delivery
    label = channels.LABELS.get(delivery.channel, delivery.channel)
    why = f"{label} failed"
    if isinstance(outcome, channels.Permanent):
        address_state.honour([a for a in attempt.addresses if a.usable], outcome, now)
        if outcome.address_dead:
            why = f"{label} stopped working: {outcome.error}"
        elif outcome.opted_out:
            why = f"you opted out of {label}"
    fall_back(attempt, why, now)


def _settle_skipped(delivery: Delivery, reason: str) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.SKIPPED, reason=reason[:200]
    )


def _settle_deferred(delivery: Delivery, decision: policy.Decision) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.DEFERRED,
        not_before=decision.not_before,
        reason=decision.reason[:200],
        attempts=F("attempts") - 1,  # not an attempt: nothing was sent
    )


STATUS_OF_ACTION = {
    policy.Action.SEND: DeliveryStatus.PENDING,
    policy.Action.DEFER: DeliveryStatus.DEFERRED,
    policy.Action.HOLD: DeliveryStatus.HELD,
    policy.Action.SKIP: DeliveryStatus.SKIPPED,
}


def fall_back(attempt: Attempt, why: str, now: datetime | None = None) -> Delivery | None:
    """One email instead of a channel that cannot carry the notification, when and if the policy says so."""
    now = now or timezone.now()
    delivery = attempt.delivery
    already = frozenset(
        Delivery.objects.filter(notification_id=delivery.notification_id).values_list("channel", flat=True)
    )
    decision = policy.fallback(
        delivery.channel, why, attempt.prefs, now, urgent=delivery.urgent, already_on=already - {delivery.channel}
    )
    if decision is None:
        return None
    try:
        with transaction.atomic():
            fallback = Delivery.objects.create(
                notification_id=delivery.notification_id,
                channel=decision.channel,
                status=STATUS_OF_ACTION[decision.action],
                urgent=delivery.urgent,
                not_before=decision.not_before,
                reason=decision.reason[:200],
                dedup_key=dedup_key(delivery.notification_id, decision.channel),
                created_at=now,
            )
    except IntegrityError:
        return None  # the notification is on that channel already: one fallback, never two
    attempt.note(Kind.NOTIFICATION_FELL_BACK, detail=why, now=now)  # on the channel that could not carry it
    if fallback.status == DeliveryStatus.PENDING:
        transaction.on_commit(lambda: enqueue([fallback]))
    return fallback


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
    found: list[Event] = []
    for delivery in stuck:
        try:
            provider_id = channels.get(delivery.channel).find_sent(delivery.dedup_key)
        except Exception:  # the provider cannot be asked now; the next sweep will
            continue
        mine = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=delivery.claimed_at)
        if provider_id:
            if mine.update(status=DeliveryStatus.SENT, sent_at=now, provider_id=provider_id[:200]):
                already_sent += 1  # it left before its worker died: logged as sent now, when we learn it
                # Its addresses are not loaded here, so a push names no service host.
                provider = event_log.provider(delivery.channel)
                found.append(event_log.delivery_event(Kind.NOTIFICATION_SENT, delivery, provider, now=now))
        elif mine.update(status=DeliveryStatus.PENDING, last_error="worker stopped mid-send; retried"):
            recovered.append(delivery)
    # Pending rows older than a minute were never picked up (their message was lost with a broker).
    due = list(
        Delivery.objects.filter(
            Q(status=DeliveryStatus.DEFERRED, not_before__lte=now)
            | Q(status=DeliveryStatus.PENDING, created_at__lte=now - timedelta(minutes=1))
        ).order_by("id")[:SWEEP_LIMIT]
    )
    record_many(found)
    recovered_ids = {d.id for d in recovered}
    enqueue(recovered + [d for d in due if d.id not in recovered_ids])
    return {"due": len(due), "stuck_resent": len(recovered), "stuck_already_sent": already_sent}
