"""The policy after the first decision: per-channel caps, SMS only for urgent deals, retries and fallbacks.

The last property plays whole days through the policy as the delivery code does — decide, then at
each send time ask `send_time`, take a slot under the channel's cap, get a random provider answer,
and retry (`retry_at`) or fall back (`fallback`) — and checks the promises: nothing leaves in quiet
hours, nothing beyond any cap, nothing twice.
"""

import heapq
from collections import Counter
from datetime import UTC, datetime, time, timedelta
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


def test_an_sms_only_rule_past_the_cap_falls_back_to_the_users_other_channels_or_the_digest():
    by_email = decide(Event(channels=("sms",)), prefs(), NOON_LA, 0, {"sms": 5})
    assert actions(by_email) == [("email", Action.SEND), ("sms", Action.SKIP)]
    assert "by email instead: SMS daily limit of 5 reached" in by_email.decisions[0].reason
    only_sms = prefs(channels=("sms",))
    held = decide(Event(channels=("sms",)), only_sms, NOON_LA, 0, {"sms": 5})
    assert actions(held) == [("sms", Action.HOLD)]
    assert held.decisions[0].reason == "held for the digest: SMS daily limit of 5 reached"


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


@settings(max_examples=250, deadline=None)
@given(
    arrivals=st.lists(st.integers(min_value=0, max_value=24 * 60 - 1), min_size=1, max_size=25),
    quiet=st.one_of(st.none(), st.tuples(walls, walls)),
    rule_channels=st.sampled_from([(), ("sms",), ("email", "sms"), ("email",)]),
    urgent_in_quiet_hours=st.booleans(),
    urgent_only=st.booleans(),
    scores=st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=1)), min_size=25, max_size=25),
    provider=st.lists(answers, min_size=200, max_size=200),
)
def test_retries_and_fallbacks_never_leave_in_quiet_hours_never_pass_a_cap_never_send_twice(
    arrivals, quiet, rule_channels, urgent_in_quiet_hours, urgent_only, scores, provider
):
    start, end = quiet or (None, None)
    p = prefs(
        quiet_start=start,
        quiet_end=end,
        urgent_in_quiet_hours=urgent_in_quiet_hours,
        max_per_day=10,
        urgent_only=frozenset({"sms"}) if urgent_only else frozenset(),
    )
    day_start = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # midnight in Los Angeles
    answer = iter(provider * 10)
    queue: list[tuple[datetime, int, int, str, int]] = []  # (when, seq, notification, channel, attempt)
    seq = 0
    planned_sms = 0
    sent_today = 0
    urgent_of: dict[int, bool] = {}
    on: dict[int, Counter] = {}  # the channels each notification was put on
    reserved = Counter()  # what `delivery.reserve` counts: sends taken under a channel's cap
    delivered: list[tuple[int, str, datetime]] = []

    for n, minute in enumerate(sorted(arrivals)):
        now = day_start + timedelta(minutes=minute)
        event = Event(channels=rule_channels, deal_score=scores[n])
        urgent_of[n] = event.is_urgent
        outcome = decide(event, p, now, sent_today, {"sms": planned_sms})
        sent_today += outcome.counts_toward_cap
        on[n] = Counter(d.channel for d in outcome.decisions)
        for d in outcome.decisions:
            if d.action in (Action.SEND, Action.DEFER):
                planned_sms += d.channel == "sms"
                heapq.heappush(queue, (d.not_before or now, seq := seq + 1, n, d.channel, 1))

    while queue:
        now, _, n, channel, attempt = heapq.heappop(queue)
        wait = send_time(now, p, urgent=urgent_of[n])
        if wait is not None:
            heapq.heappush(queue, (wait.not_before, seq := seq + 1, n, channel, attempt))
            continue
        cap = p.channel_caps.get(channel)
        if cap is not None and reserved[channel] >= cap:
            decision = fallback(channel, "over the cap", p, now, urgent=urgent_of[n], already_on=frozenset(on[n]))
        else:
            reserved[channel] += 1
            result = next(answer)
            if result == "sent":
                delivered.append((n, channel, now))
                continue
            reserved[channel] -= 1
            if result == "transient":
                at = retry_at(now, attempt, None, p, urgent=urgent_of[n])
                if at is not None:
                    heapq.heappush(queue, (at, seq := seq + 1, n, channel, attempt + 1))
                continue
            decision = fallback(channel, "failed", p, now, urgent=urgent_of[n], already_on=frozenset(on[n]))
        if decision is not None:
            on[n][decision.channel] += 1
            heapq.heappush(queue, (decision.not_before or now, seq := seq + 1, n, decision.channel, 1))

    for n, channel, at in delivered:
        allowed_in_quiet = urgent_of[n] and urgent_in_quiet_hours
        assert allowed_in_quiet or not in_window(at.astimezone(LA).time(), start, end), (n, channel, at)
    assert Counter(c for _, c, _ in delivered)["sms"] <= DAILY_CAPS["sms"]
    assert len(delivered) == len({(n, c) for n, c, _ in delivered}), "a notification went twice on one channel"
    assert all(count == 1 for channels_on in on.values() for count in channels_on.values())
    if urgent_only:
        assert all(urgent_of[n] for n, c, _ in delivered if c == "sms")
