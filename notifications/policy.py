"""The delivery policy: what to do with one deal event on each channel, and why. Pure: no I/O.

    decide(event, preferences, now, sent_today) -> [Decision(channel, action, not_before, reason)]

The rules, in order:
1. Channels are the event's own (the rule's) or, when it names none, the user's; only those the
   user has enabled and verified survive. None left: one SKIP naming why.
2. Category filters: a listing outside them is skipped ("not in your categories").
3. Daily or weekly frequency: HOLD for the digest, unless the event is urgent.
4. Past the daily cap (`sent_today >= max_per_day`): HOLD for the next digest ("daily cap
   reached") — never dropped.
5. Quiet hours (in the user's zone, may wrap midnight): DEFER to the end of quiet hours, computed
   on the wall clock of that day, so DST never makes it early; urgent events too, unless the user
   lets urgent deals through quiet hours.
6. Otherwise SEND now.

An event is urgent when the producer says so (a watched item fell below its threshold) or when its
deal score is at least `URGENT_SCORE`.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

URGENT_SCORE = 0.9


class Action(StrEnum):
    SEND = "send"
    DEFER = "defer"
    HOLD = "hold"
    SKIP = "skip"


@dataclass(frozen=True)
class Event:
    """A deal worth telling, as the policy sees it."""

    channels: tuple[str, ...] = ()  # the rule's channels; empty: the user's
    category_slugs: frozenset[str] = frozenset()  # the listing's category and its ancestors
    deal_score: float | None = None
    urgent: bool = False  # the producer's say-so, e.g. a watched item under its threshold

    @property
    def is_urgent(self) -> bool:
        return self.urgent or (self.deal_score is not None and self.deal_score >= URGENT_SCORE)


@dataclass(frozen=True)
class Preferences:
    time_zone: ZoneInfo
    channels: tuple[str, ...] = ("email",)
    verified: frozenset[str] = frozenset({"email"})
    frequency: str = "immediate"
    quiet_start: time | None = None
    quiet_end: time | None = None
    urgent_in_quiet_hours: bool = False
    category_filters: frozenset[str] = frozenset()
    max_per_day: int = 10


@dataclass(frozen=True)
class Decision:
    channel: str
    action: Action
    reason: str
    not_before: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """Every channel's decision, plus whether the event counts toward the daily cap."""

    decisions: list[Decision] = field(default_factory=list)

    @property
    def counts_toward_cap(self) -> bool:
        return any(d.action in (Action.SEND, Action.DEFER) for d in self.decisions)

    @property
    def summary(self) -> str:
        reasons = dict.fromkeys(d.reason for d in self.decisions)
        return "; ".join(reasons)


def decide(event: Event, prefs: Preferences, now: datetime, sent_today: int) -> Outcome:
    wanted = event.channels or prefs.channels
    channels = [c for c in wanted if c in prefs.channels and c in prefs.verified]
    if not channels:
        return Outcome([Decision(wanted[0] if wanted else "email", Action.SKIP, _no_channel_reason(wanted, prefs))])

    def every(action: Action, reason: str, not_before: datetime | None = None) -> Outcome:
        return Outcome([Decision(c, action, reason, not_before) for c in channels])

    if prefs.category_filters and not (event.category_slugs & prefs.category_filters):
        return every(Action.SKIP, "skipped: not in your categories")
    urgent = event.is_urgent
    if prefs.frequency != "immediate" and not urgent:
        return every(Action.HOLD, f"held for the digest: frequency is {prefs.frequency}")
    if sent_today >= prefs.max_per_day:
        return every(Action.HOLD, f"held for the digest: daily cap of {prefs.max_per_day} reached")
    until = quiet_until(now, prefs.quiet_start, prefs.quiet_end, prefs.time_zone)
    if until is not None and not (urgent and prefs.urgent_in_quiet_hours):
        local = until.astimezone(prefs.time_zone)
        return every(Action.DEFER, f"deferred to {local:%H:%M}: quiet hours", until)
    return every(Action.SEND, "sent: urgent deal" if urgent and prefs.frequency != "immediate" else "sent")


def _no_channel_reason(wanted: tuple[str, ...], prefs: Preferences) -> str:
    if not prefs.channels:
        return "skipped: all channels are off"
    if not any(c in prefs.channels for c in wanted):
        return "skipped: the alert's channels are off in your settings"
    return "skipped: the channel is not set up"


# --- time: quiet hours and digests, on the wall clock of the user's zone ------------------------


def in_window(moment: time, start: time | None, end: time | None) -> bool:
    """Whether a wall-clock time is inside [start, end); the window may wrap midnight."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def quiet_until(now: datetime, start: time | None, end: time | None, tz: ZoneInfo) -> datetime | None:
    """The first instant at or after `now` that is outside quiet hours, or None when not in them."""
    local = now.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    if not in_window(wall, start, end):
        return None
    assert end is not None
    end_day = local.date() if wall < end else local.date() + timedelta(days=1)
    return first_instant_at(end_day, end, tz, not_before=now)


def first_instant_at(day: date, wall: time, tz: ZoneInfo, *, not_before: datetime | None = None) -> datetime:
    """The first instant (UTC) at which the clocks in `tz` show `wall` on `day`, or have passed it.

    In an autumn fold the wall time happens twice: the first is meant, unless it is before
    `not_before` (we are in the repeated hour), then the second. In a spring gap it never happens:
    the moment the clocks jump past it is meant — never earlier.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        if not_before is not None and first < not_before:
            second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
            if second >= not_before:
                return second
        return first
    # A gap: fold=1 reads the wall time with the offset after the jump, an instant before the
    # jump; fold=0 reads it with the offset before, an instant after. Bisect to the jump itself.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) + (timedelta(seconds=1) if high.microsecond else timedelta())


def next_digest_at(
    now: datetime, frequency: str, wall: time, weekday: int, tz: ZoneInfo, *, after_day: date | None = None
) -> datetime | None:
    """The next digest instant (UTC) for a daily or weekly schedule; None for immediate.

    `after_day`: the last local day that already had its digest, so the next is strictly later.
    """
    if frequency not in ("daily", "weekly"):
        return None
    day = now.astimezone(tz).date()
    for _ in range(8):
        if frequency == "daily" or day.weekday() == weekday:
            at = first_instant_at(day, wall, tz)
            if at >= now and (after_day is None or day > after_day):
                return at
        day += timedelta(days=1)
    return None
