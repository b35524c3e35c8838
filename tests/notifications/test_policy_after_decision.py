"""The policy after the first decision: per-channel caps, SMS only for urgent deals, retries and fallbacks.

The last property plays whole days through the policy as the delivery code does — decide, then at
each send time ask `send_time`, take a slot under the channel's cap, get a random provider answer,
and retry (`retry_at`) or fall back (`fallback`) — and checks the promises: nothing leaves in quiet
hours, nothing beyond any cap, nothing twice.
"""

import heapq
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.channels import DAILY_CAPS, IN_WORDS, LABELS
from notifications.policy import (
    MAX_ATTEMPTS,
    Action,
    Event,
    Preferences,
    decide,
    fallback,
    in_window,
    retry_at,
    send_time,
    tomorrow,
)

LA = ZoneInfo("America/Los_Angeles")
NOON_LA = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
LATE_LA = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)  # 23:30 in Los Angeles


def prefs(**overrides) -> Preferences:
    base = {
        "time_zone": LA,
        "labels": LABELS,
        "in_words": IN_WORDS,
        "channels": ("email", "sms"),
        "verified": frozenset({"email", "sms"}),
        "channel_caps": DAILY_CAPS,
    }
    return Preferences(**{**base, **overrides})


def actions(outcome) -> list[tuple[str, Action]]:
    return [(d.channel, d.action) for d in outcome.decisions]


def test_sms_has_a_daily_cap_of_five_and_the_sixth_deal_goes_by_the_other_channels():
    assert DAILY_CAPS["sms"] == 5
    assert actions(decide(Event(), prefs(), NOON_LA, 0, {"sms": 4})) == [("email", Action.SEND), ("sms", Action.SEND)]
    sixth = decide(Event(), prefs(), NOON_LA, 0, {"sms": 5})
    assert actions(sixth) == [("email", Action.SEND), ("sms", Action.SKIP)]
    assert sixth.decisions[1].reason == "not by SMS: SMS daily limit of 5 reached"


def test_an_sms_only_rule_past_the_cap_falls_back_to_the_users_other_channels_or_waits_for_tomorrow():
    by_email = decide(Event(channels=("sms",)), prefs(), NOON_LA, 0, {"sms": 5})
    assert actions(by_email) == [("email", Action.SEND), ("sms", Action.SKIP)]
    assert "by email instead: SMS daily limit of 5 reached" in by_email.decisions[0].reason
    # Email verified but off: no digest will come, so the text waits for the cap to reset.
    only_sms = prefs(channels=("sms",))
    later = decide(Event(channels=("sms",)), only_sms, NOON_LA, 0, {"sms": 5})
    assert actions(later) == [("sms", Action.DEFER)]
    assert later.decisions[0].not_before == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # midnight in Los Angeles
    assert later.decisions[0].reason == "deferred to tomorrow 00:00: SMS daily limit of 5 reached"
    quiet = prefs(channels=("sms",), quiet_start=time(22), quiet_end=time(7))
    assert decide(Event(channels=("sms",)), quiet, NOON_LA, 0, {"sms": 5}).decisions[0].reason == (
        "deferred to tomorrow 07:00: SMS daily limit of 5 reached"
    )
    # With email on, a digest will come: it takes the deal.
    email_on_but_rule_sms_only = prefs(channels=("email", "sms"), urgent_only=frozenset({"sms"}))
    held = decide(
        Event(channels=("sms",)), prefs(channels=("sms",), verified=frozenset({"sms"})), NOON_LA, 0, {"sms": 5}
    )
    assert actions(held) == [("sms", Action.DEFER)]
    assert actions(decide(Event(channels=("sms",)), email_on_but_rule_sms_only, NOON_LA, 0)) == [
        ("email", Action.SEND),
        ("sms", Action.SKIP),
    ]


def test_sms_only_for_urgent_deals():
    p = prefs(urgent_only=frozenset({"sms"}))
    ordinary = decide(Event(deal_score=0.5), p, NOON_LA, 0)
    assert actions(ordinary) == [("email", Action.SEND), ("sms", Action.SKIP)]
    assert ordinary.decisions[1].reason == "not by SMS: SMS is kept for urgent deals"
    assert actions(decide(Event(deal_score=0.95), p, NOON_LA, 0)) == [("email", Action.SEND), ("sms", Action.SEND)]


def test_a_retry_due_in_quiet_hours_waits_for_their_end_and_gives_up_after_the_last_attempt():
    quiet = prefs(quiet_start=time(22), quiet_end=time(7))
    evening = datetime(2026, 11, 26, 5, 59, 50, tzinfo=UTC)  # 21:59:50 there: the backoff lands at 22:00:20
    at = retry_at(evening, 1, None, quiet, urgent=False)
    assert at.astimezone(LA).time() == time(7) and at > evening
    assert retry_at(NOON_LA, 1, 120, quiet, urgent=False) == NOON_LA + timedelta(seconds=120)  # Retry-After wins
    assert retry_at(NOON_LA, MAX_ATTEMPTS, None, quiet, urgent=False) is None
    letting_urgent = prefs(quiet_start=time(22), quiet_end=time(7), urgent_in_quiet_hours=True)
    assert retry_at(evening, 1, None, letting_urgent, urgent=True) == evening + timedelta(seconds=30)


def test_a_message_reaching_a_worker_in_quiet_hours_waits():
    quiet = prefs(quiet_start=time(22), quiet_end=time(7))
    assert send_time(NOON_LA, quiet, urgent=False) is None
    wait = send_time(LATE_LA, quiet, urgent=False)
    assert wait.action == Action.DEFER and wait.not_before.astimezone(LA).time() == time(7)
    assert wait.reason == "deferred to 07:00: quiet hours"


def test_one_fallback_email_at_a_time_quiet_hours_allow():
    p = prefs(quiet_start=time(22), quiet_end=time(7))
    now = fallback("sms", "SMS failed", p, NOON_LA, urgent=False)
    assert (now.channel, now.action, now.reason) == ("email", Action.SEND, "sent by email instead: SMS failed")
    later = fallback("sms", "SMS failed", p, LATE_LA, urgent=False)
    assert later.action == Action.DEFER and later.not_before.astimezone(LA).time() == time(7)
    assert fallback("sms", "SMS failed", p, NOON_LA, urgent=False, already_on=frozenset({"email"})) is None
    assert fallback("email", "email failed", p, NOON_LA, urgent=False) is None
    assert fallback("sms", "SMS failed", prefs(channels=("sms",)), NOON_LA, urgent=False) is None


# --- whole days through the policy ----------------------------------------------------------------

walls = st.times().map(lambda t: t.replace(second=0, microsecond=0))
answers = st.sampled_from(["sent", "sent", "sent", "transient", "permanent"])
zones = st.sampled_from(["America/Los_Angeles", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC"])
# Days around the 2026 clock changes (US: Mar 8, Nov 1; UK: Mar 29, Oct 25; Sydney: Apr 5, Oct 4) and an ordinary one.
first_days = st.sampled_from(
    ["2026-03-07", "2026-03-28", "2026-04-04", "2026-10-03", "2026-10-24", "2026-10-31", "2026-11-25"]
)


@settings(max_examples=250, deadline=None)
@given(
    arrivals=st.lists(st.integers(min_value=0, max_value=48 * 60 - 1), min_size=1, max_size=30),
    zone=zones,
    first_day=first_days,
    quiet=st.one_of(st.none(), st.tuples(walls, walls)),
    rule_channels=st.sampled_from([(), ("sms",), ("email", "sms"), ("email",)]),
    email_on=st.booleans(),
    urgent_in_quiet_hours=st.booleans(),
    urgent_only=st.booleans(),
    scores=st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=1)), min_size=30, max_size=30),
    provider=st.lists(answers, min_size=200, max_size=200),
)
def test_retries_and_fallbacks_never_leave_in_quiet_hours_never_pass_a_cap_never_send_twice(
    arrivals, zone, first_day, quiet, rule_channels, email_on, urgent_in_quiet_hours, urgent_only, scores, provider
):
    """Events arrive over two local days; each send asks the policy as `delivery._send` does."""
    tz = ZoneInfo(zone)
    start, end = quiet or (None, None)
    p = prefs(
        time_zone=tz,
        channels=("email", "sms") if email_on else ("sms",),
        quiet_start=start,
        quiet_end=end,
        urgent_in_quiet_hours=urgent_in_quiet_hours,
        max_per_day=10,
        urgent_only=frozenset({"sms"}) if urgent_only else frozenset(),
    )
    day_start = datetime.combine(date.fromisoformat(first_day), time(0), tz).astimezone(UTC)
    answer = iter(provider * 10)
    queue: list[tuple] = []  # (when, seq, kind, notification, channel, attempt)
    seq = 0
    for n, minute in enumerate(arrivals):
        heapq.heappush(queue, (day_start + timedelta(minutes=minute), seq := seq + 1, "arrive", n, "", 0))
    urgent_of: dict[int, bool] = {}
    on: dict[int, Counter] = {}  # the channels each notification was put on
    reserved = Counter()  # what `delivery.reserve` counts: (channel, local day of sending)
    sent_on_day = Counter()  # notifications counted toward the daily cap, by local day
    delivered: list[tuple[int, str, datetime]] = []

    def local_day(at: datetime) -> date:
        return at.astimezone(tz).date()

    def put(decision, n, now):
        on[n][decision.channel] += 1
        if decision.action in (Action.SEND, Action.DEFER):
            heapq.heappush(queue, (decision.not_before or now, next_seq(), "send", n, decision.channel, 1))

    def next_seq():
        nonlocal seq
        seq += 1
        return seq

    while queue:
        now, _, kind, n, channel, attempt = heapq.heappop(queue)
        if kind == "arrive":
            event = Event(channels=rule_channels, deal_score=scores[n])
            urgent_of[n] = event.is_urgent
            today = local_day(now)
            outcome = decide(event, p, now, sent_on_day[today], {"sms": reserved[("sms", today)]})
            sent_on_day[today] += outcome.counts_toward_cap
            on[n] = Counter()
            for decision in outcome.decisions:
                put(decision, n, now)
            continue
        if send_time(now, p, urgent=urgent_of[n]) is not None:
            wait = send_time(now, p, urgent=urgent_of[n])
            heapq.heappush(queue, (wait.not_before, next_seq(), "send", n, channel, attempt))
            continue
        cap = p.channel_caps.get(channel)
        day = local_day(now)
        if cap is not None and reserved[(channel, day)] >= cap:
            if "email" in p.own_channels:
                decision = fallback(channel, "over the cap", p, now, urgent=urgent_of[n], already_on=frozenset(on[n]))
            else:
                later = tomorrow(channel, "over the cap", p, now, urgent=urgent_of[n])
                heapq.heappush(queue, (later.not_before, next_seq(), "send", n, channel, attempt))
                continue
        else:
            reserved[(channel, day)] += 1
            result = next(answer)
            if result == "sent":
                delivered.append((n, channel, now))
                continue
            reserved[(channel, day)] -= 1
            if result == "transient":
                at = retry_at(now, attempt, None, p, urgent=urgent_of[n])
                if at is not None:
                    heapq.heappush(queue, (at, next_seq(), "send", n, channel, attempt + 1))
                continue
            decision = fallback(channel, "failed", p, now, urgent=urgent_of[n], already_on=frozenset(on[n]))
        if decision is not None:
            put(decision, n, now)

    for n, channel, at in delivered:
        allowed_in_quiet = urgent_of[n] and urgent_in_quiet_hours
        assert allowed_in_quiet or not in_window(at.astimezone(tz).time(), start, end), (n, channel, at)
    texts_per_day = Counter(local_day(at) for _, c, at in delivered if c == "sms")
    assert all(count <= DAILY_CAPS["sms"] for count in texts_per_day.values()), texts_per_day
    assert len(delivered) == len({(n, c) for n, c, _ in delivered}), "a notification went twice on one channel"
    assert all(count == 1 for channels_on in on.values() for count in channels_on.values())
    if urgent_only:
        assert all(urgent_of[n] for n, c, _ in delivered if c == "sms")
