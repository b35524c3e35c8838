"""The delivery policy: what to do with one deal event on each channel, and why. Pure: no I/O.

    decide(event, preferences, now, sent_today) -> [Decision(channel, action, not_before, reason)]

The rules, in order:
1. Channels (`usable_channels`): the event's own (the rule's) or, when it names none, the user's;
   only those the user has enabled and verified are usable. When none of the rule's channels is
   usable, the user's own usable channels take their place, and every reason says so ("by email
   instead: SMS is not set up"): a rule never goes silent because of its channels. When the user
   has no usable channel at all: one SKIP that says what to fix and where.
2. Category filters: a listing outside them is skipped ("not in your categories").
3. Daily or weekly frequency: HOLD for the digest, unless the event is urgent.
4. Past the daily cap (`sent_today >= max_per_day`): HOLD for the next digest ("daily cap
   reached") — never dropped.
   A channel with a cap of its own (SMS: 5 a day) past it, or one the user keeps for urgent deals
   (SMS only for urgent deals) given a deal that is not: that channel is SKIPped with the reason and
   the deal goes by the others; when it was the only one, by the user's own other channels, else
   it is HELD for the digest.
5. Quiet hours (in the user's zone, may wrap midnight): DEFER to the end of quiet hours, computed
   on the wall clock of that day, so DST never makes it early; urgent events too, unless the user
   lets urgent deals through quiet hours.
6. Otherwise SEND now.

After the first decision, every later send time is the policy's too: `retry_at` (a transient
failure's retry: backoff, then out of quiet hours), `send_time` (a queued message about to go out
that finds itself in quiet hours) and `fallback` (one email when a channel failed for good, at a
time quiet hours allow) — so nothing leaves in quiet hours, whichever path it takes.

An event is urgent when the producer says so (a watched item fell below its threshold) or when its
deal score is at least `URGENT_SCORE`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

URGENT_SCORE = 0.9
MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 30
BACKOFF_MAX_S = 3600
FALLBACK_CHANNEL = "email"


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


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
    # Why a channel is not verified, in words ("not confirmed"); a channel missing here is "not set up".
    not_verified_because: Mapping[str, str] = field(default_factory=_empty)
    # The channels' words, given by the channels' registry: labels ("SMS is not set up") and after
    # "by" ("by email"). A channel missing here is called by its name.
    labels: Mapping[str, str] = field(default_factory=_empty)
    in_words: Mapping[str, str] = field(default_factory=_empty)
    channel_caps: Mapping[str, int] = field(default_factory=_empty)  # a channel's own daily cap (SMS: 5)
    urgent_only: frozenset[str] = frozenset()  # channels the user keeps for urgent deals

    def held_back_because(self, channel: str, urgent: bool, channel_sent_today: Mapping[str, int]) -> str:
        """Why a usable channel must not carry this deal now ("SMS daily limit of 5 reached"); "" when it may."""
        label = self.labels.get(channel, channel)
        if channel in self.urgent_only and not urgent:
            return f"{label} is kept for urgent deals"
        if self.capped(channel, channel_sent_today):
            return f"{label} daily limit of {self.channel_caps[channel]} reached"
        return ""

    def capped(self, channel: str, channel_sent_today: Mapping[str, int]) -> bool:
        cap = self.channel_caps.get(channel)
        return cap is not None and channel_sent_today.get(channel, 0) >= cap

    def wait_until(self, at: datetime, urgent: bool) -> datetime | None:
        """When a message due at `at` may leave: None when it may then, else the end of the quiet hours."""
        if urgent and self.urgent_in_quiet_hours:
            return None
        return quiet_until(at, self.quiet_start, self.quiet_end, self.time_zone)

    @property
    def own_channels(self) -> tuple[str, ...]:
        """The user's channels that can reach them now: switched on and verified."""
        return tuple(c for c in self.channels if c in self.verified)

    def unusable_because(self, channel: str) -> str:
        """Why a channel cannot be used ("not set up", "off in your settings"); "" when it can."""
        if channel not in self.verified:
            return self.not_verified_because.get(channel, "not set up")
        return "" if channel in self.channels else "off in your settings"

    def why_unusable(self, channel: str) -> str:
        """Why a channel cannot be used, as a clause: "SMS is not set up", "Push is off in your settings"."""
        return f"{self.labels.get(channel, channel)} is {self.unusable_because(channel)}"


@dataclass(frozen=True)
class ChannelChoice:
    """The channels a deal for a rule goes to now, and why they differ from the rule's, if they do.

    `notes` name each wanted channel that cannot be used; `fallback` is true when none could, so the
    user's own channels stand in. No `channels` at all: nothing can reach the user.
    """

    channels: tuple[str, ...]
    notes: tuple[str, ...] = ()
    fallback: bool = False
    in_words: Mapping[str, str] = field(default_factory=_empty, compare=False, repr=False)  # from `Preferences`

    @property
    def annotation(self) -> str:
        """What a delivery's reason adds: "by email instead: SMS is not set up", or ""."""
        if not self.notes:
            return ""
        if self.fallback:
            return f"by {_joined(self.channels, self.in_words)} instead: {'; '.join(self.notes)}"
        return "; ".join(self.notes)

    @property
    def sentence(self) -> str:
        """What a user is told when saving a rule; "" when its channels are all usable."""
        if not self.channels:
            problems = f" ({'; '.join(self.notes)})" if self.notes else ""
            return f"No channel can reach you yet{problems}: fix it in your notification settings."
        if not self.notes:
            return ""
        only = "" if self.fallback else " only"
        return f"{_sentence_list(self.notes)}, so we will tell you by {_joined(self.channels, self.in_words)}{only}."


def usable_channels(rule_channels: tuple[str, ...], prefs: Preferences) -> ChannelChoice:
    """Which channels a deal for a rule naming `rule_channels` (empty: the user's) goes to now.

    The one answer to "where will this go?": the policy delivers by it, and the alert pages and
    the API tell the user what it says when a rule is saved.
    """
    own = prefs.own_channels
    wanted = rule_channels or prefs.channels
    usable = tuple(c for c in wanted if c in own)
    notes = tuple(prefs.why_unusable(c) for c in wanted if c not in own)
    if usable:
        return ChannelChoice(usable, notes, in_words=prefs.in_words)
    if own:
        return ChannelChoice(own, notes, fallback=True, in_words=prefs.in_words)
    # Nothing reaches the user: name the user's own channels' trouble too, that is what to fix.
    troubles = tuple(dict.fromkeys(prefs.why_unusable(c) for c in (*wanted, *prefs.channels)))
    return ChannelChoice((), troubles, in_words=prefs.in_words)


def _joined(channels: tuple[str, ...], in_words: Mapping[str, str]) -> str:
    names = [in_words.get(c, c) for c in channels]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _sentence_list(clauses: tuple[str, ...]) -> str:
    return clauses[0] if len(clauses) == 1 else f"{', '.join(clauses[:-1])} and {clauses[-1]}"


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


def decide(
    event: Event,
    prefs: Preferences,
    now: datetime,
    sent_today: int,
    channel_sent_today: Mapping[str, int] = MappingProxyType({}),
) -> Outcome:
    """Every channel's decision for one event; `channel_sent_today` counts today's messages on capped channels."""
    choice = usable_channels(event.channels, prefs)
    if not choice.channels:
        wanted = event.channels or prefs.channels
        return Outcome([Decision(wanted[0] if wanted else "email", Action.SKIP, _no_channel_reason(choice, prefs))])
    urgent = event.is_urgent
    held_back = {c: why for c in choice.channels if (why := prefs.held_back_because(c, urgent, channel_sent_today))}
    carriers = tuple(c for c in choice.channels if c not in held_back)
    annotation = choice.annotation
    if held_back and not carriers:
        carriers = tuple(
            c
            for c in prefs.own_channels
            if c not in held_back and not prefs.held_back_because(c, urgent, channel_sent_today)
        )
        if carriers:
            annotation = f"by {_joined(carriers, prefs.in_words)} instead: {'; '.join(held_back.values())}"
    skipped = [Decision(c, Action.SKIP, f"not by {prefs.in_words.get(c, c)}: {why}") for c, why in held_back.items()]
    if not carriers:
        return Outcome([_nowhere_today(c, why, prefs, now, urgent, channel_sent_today) for c, why in held_back.items()])

    def every(action: Action, reason: str, not_before: datetime | None = None) -> Outcome:
        if annotation:
            reason = f"{reason} ({annotation})"
        return Outcome([Decision(c, action, reason, not_before) for c in carriers] + skipped)

    if prefs.category_filters and not (event.category_slugs & prefs.category_filters):
        return every(Action.SKIP, "skipped: not in your categories")
    if prefs.frequency != "immediate" and not urgent:
        return every(Action.HOLD, f"held for the digest: frequency is {prefs.frequency}")
    if sent_today >= prefs.max_per_day:
        return every(Action.HOLD, f"held for the digest: daily cap of {prefs.max_per_day} reached")
    until = prefs.wait_until(now, urgent)
    if until is not None:
        return every(Action.DEFER, _deferred_reason(until, prefs), until)
    return every(Action.SEND, "sent: urgent deal" if urgent and prefs.frequency != "immediate" else "sent")


def _nowhere_today(
    channel: str, why: str, prefs: Preferences, now: datetime, urgent: bool, channel_sent_today: Mapping[str, int]
) -> Decision:
    """A deal no channel may carry now: the digest takes it when the user gets one (email is on); a capped
    channel that is all they have takes it tomorrow; a channel kept for urgent deals lets it go."""
    if FALLBACK_CHANNEL in prefs.own_channels:
        return Decision(channel, Action.HOLD, f"held for the digest: {why}")
    if prefs.capped(channel, channel_sent_today):
        return tomorrow(channel, why, prefs, now, urgent=urgent)
    return Decision(channel, Action.SKIP, f"skipped: {why}")


def tomorrow(channel: str, why: str, prefs: Preferences, now: datetime, *, urgent: bool) -> Decision:
    """DEFER to the start of the user's next local day (or the end of quiet hours then), when a cap resets."""
    next_day = now.astimezone(prefs.time_zone).date() + timedelta(days=1)
    at = first_instant_at(next_day, time(0), prefs.time_zone)
    at = prefs.wait_until(at, urgent) or at
    return Decision(channel, Action.DEFER, f"deferred to tomorrow {at.astimezone(prefs.time_zone):%H:%M}: {why}", at)


def _deferred_reason(until: datetime, prefs: Preferences) -> str:
    return f"deferred to {until.astimezone(prefs.time_zone):%H:%M}: quiet hours"


# --- after the first decision: retries, messages about to leave, fallbacks ------------------------


def backoff_seconds(attempts: int, retry_after: float | None) -> float:
    delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    return max(delay, retry_after or 0)


def retry_at(
    now: datetime, attempts: int, retry_after: float | None, prefs: Preferences, *, urgent: bool
) -> datetime | None:
    """When a transient failure is tried again: after the backoff, and never in quiet hours; None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    at = now + timedelta(seconds=backoff_seconds(attempts, retry_after))
    return prefs.wait_until(at, urgent) or at


def send_time(now: datetime, prefs: Preferences, *, urgent: bool) -> Decision | None:
    """A queued message about to leave: None when it may go now, else a DEFER to the end of the quiet hours.

    A message decided just before quiet hours began may reach a worker just after: it waits too.
    """
    until = prefs.wait_until(now, urgent)
    return None if until is None else Decision("", Action.DEFER, _deferred_reason(until, prefs), until)


def fallback(
    failed: str,
    why: str,
    prefs: Preferences,
    now: datetime,
    *,
    urgent: bool,
    already_on: frozenset[str] = frozenset(),
) -> Decision | None:
    """Where a notification goes when `failed` cannot carry it after all: one email, at a time quiet hours allow.

    None when the notification is already on email (one fallback email per notification, never
    one per failed channel), email itself failed, or email cannot reach the user.
    """
    channel = FALLBACK_CHANNEL
    if failed == channel or channel in already_on or channel not in prefs.own_channels:
        return None
    reason = f"sent by {prefs.in_words.get(channel, channel)} instead: {why}"
    until = prefs.wait_until(now, urgent)
    if until is not None:
        return Decision(channel, Action.DEFER, f"{_deferred_reason(until, prefs)} ({reason})", until)
    return Decision(channel, Action.SEND, reason)


def _no_channel_reason(choice: ChannelChoice, prefs: Preferences) -> str:
    """Nothing can reach the user: say what to fix, and where."""
    if not prefs.channels:
        return "skipped: all channels are off: turn one on in your settings"
    return f"skipped: no channel can reach you ({'; '.join(choice.notes)}): fix it in your settings"


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
