"""The delivery policy: examples for each rule, and properties over time zones, DST and quiet hours."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.channels import IN_WORDS, LABELS, NAMES
from notifications.policy import (
    Action,
    ChannelChoice,
    Event,
    Preferences,
    decide,
    first_instant_at,
    in_window,
    next_digest_at,
    quiet_until,
    usable_channels,
)

LA = ZoneInfo("America/Los_Angeles")
NOON_LA = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # 12:00 in Los Angeles


def prefs(**overrides) -> Preferences:
    """Preferences with the channels' words, as `notifications.preferences` gives the policy."""
    return Preferences(**{"time_zone": LA, "labels": LABELS, "in_words": IN_WORDS, **overrides})


def actions(outcome) -> list[tuple[str, Action]]:
    return [(d.channel, d.action) for d in outcome.decisions]


def test_immediate_sends_on_the_rules_channels_that_the_user_enabled_and_verified():
    p = prefs(channels=("email", "sms"), verified=frozenset({"email", "sms"}))
    assert actions(decide(Event(channels=("sms",)), p, NOON_LA, 0)) == [("sms", Action.SEND)]
    assert actions(decide(Event(), p, NOON_LA, 0)) == [("email", Action.SEND), ("sms", Action.SEND)]


def test_a_rule_whose_channels_cannot_be_used_falls_back_to_the_users_channels_and_says_why():
    outcome = decide(Event(channels=("sms",)), prefs(), NOON_LA, 0)
    assert actions(outcome) == [("email", Action.SEND)]
    assert outcome.decisions[0].reason == "sent (by email instead: SMS is not set up)"
    assert outcome.counts_toward_cap
    # Verified but switched off in the settings: said so, and still delivered.
    off = prefs(channels=("email",), verified=frozenset({"email", "sms"}))
    assert decide(Event(channels=("sms",)), off, NOON_LA, 0).decisions[0].reason == (
        "sent (by email instead: SMS is off in your settings)"
    )
    # The fallback obeys the rest of the policy: quiet hours defer it, with both reasons.
    quiet = prefs(quiet_start=time(11), quiet_end=time(13))
    deferred = decide(Event(channels=("sms", "push")), quiet, NOON_LA, 0).decisions
    assert [(d.channel, d.action) for d in deferred] == [("email", Action.DEFER)]
    assert (
        deferred[0].reason == "deferred to 13:00: quiet hours (by email instead: SMS is not set up; Push is not set up)"
    )


def test_some_of_the_rules_channels_usable_sends_on_those_and_names_the_others():
    p = prefs(channels=("email", "push"), verified=frozenset({"email", "push"}))
    outcome = decide(Event(channels=("email", "sms")), p, NOON_LA, 0)
    assert actions(outcome) == [("email", Action.SEND)]
    assert outcome.decisions[0].reason == "sent (SMS is not set up)"
    assert actions(decide(Event(channels=("push", "sms")), p, NOON_LA, 0)) == [("push", Action.SEND)]


def test_no_usable_channel_at_all_is_one_skip_that_says_what_to_fix_and_where():
    unconfirmed = prefs(verified=frozenset(), not_verified_because={"email": "not confirmed yet"})
    outcome = decide(Event(channels=("sms",)), unconfirmed, NOON_LA, 0)
    assert actions(outcome) == [("sms", Action.SKIP)]
    assert outcome.decisions[0].reason == (
        "skipped: no channel can reach you (SMS is not set up; Email is not confirmed yet): fix it in your settings"
    )
    assert not outcome.counts_toward_cap
    own = decide(Event(), unconfirmed, NOON_LA, 0).decisions
    assert own[0].reason == "skipped: no channel can reach you (Email is not confirmed yet): fix it in your settings"
    all_off = decide(Event(), prefs(channels=()), NOON_LA, 0).decisions[0].reason
    assert all_off == "skipped: all channels are off: turn one on in your settings"


def test_usable_channels_says_in_a_sentence_where_a_rules_deals_will_go():
    p = prefs(channels=("email",), verified=frozenset({"email"}))
    assert usable_channels((), p) == ChannelChoice(("email",))
    assert usable_channels((), p).sentence == ""
    assert usable_channels(("sms",), p).sentence == "SMS is not set up, so we will tell you by email."
    assert usable_channels(("email", "discord"), p).sentence == (
        "Discord is not set up, so we will tell you by email only."
    )
    nothing = usable_channels(
        ("email",), prefs(verified=frozenset(), not_verified_because={"email": "not confirmed yet"})
    )
    assert nothing.channels == ()
    assert nothing.sentence == (
        "No channel can reach you yet (Email is not confirmed yet): fix it in your notification settings."
    )


def test_category_filters_skip_other_categories_and_a_parent_covers_children():
    p = prefs(category_filters=frozenset({"electronics"}))
    laptop = Event(category_slugs=frozenset({"laptops", "computers", "electronics"}))
    sofa = Event(category_slugs=frozenset({"furniture"}))
    assert actions(decide(laptop, p, NOON_LA, 0)) == [("email", Action.SEND)]
    skipped = decide(sofa, p, NOON_LA, 0)
    assert actions(skipped) == [("email", Action.SKIP)]
    assert skipped.decisions[0].reason == "skipped: not in your categories"


def test_daily_and_weekly_hold_for_the_digest_unless_urgent():
    for frequency in ("daily", "weekly"):
        held = decide(Event(deal_score=0.8), prefs(frequency=frequency), NOON_LA, 0)
        assert actions(held) == [("email", Action.HOLD)]
        assert held.decisions[0].reason == f"held for the digest: frequency is {frequency}"
        assert not held.counts_toward_cap
    urgent = decide(Event(deal_score=0.95), prefs(frequency="daily"), NOON_LA, 0)
    assert actions(urgent) == [("email", Action.SEND)] and urgent.decisions[0].reason == "sent: urgent deal"
    assert actions(decide(Event(urgent=True), prefs(frequency="weekly"), NOON_LA, 0)) == [("email", Action.SEND)]


def test_past_the_daily_cap_events_overflow_into_the_digest():
    p = prefs(max_per_day=3)
    assert decide(Event(), p, NOON_LA, 2).decisions[0].action == Action.SEND
    over = decide(Event(), p, NOON_LA, 3)
    assert actions(over) == [("email", Action.HOLD)]
    assert over.decisions[0].reason == "held for the digest: daily cap of 3 reached"
    assert decide(Event(urgent=True), p, NOON_LA, 3).decisions[0].action == Action.HOLD  # urgent obeys the cap too


def test_quiet_hours_defer_to_their_end_in_the_users_zone():
    p = prefs(quiet_start=time(22, 0), quiet_end=time(7, 0))
    late = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)  # 23:30 in Los Angeles
    outcome = decide(Event(), p, late, 0)
    assert actions(outcome) == [("email", Action.DEFER)]
    assert outcome.decisions[0].not_before == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 07:00 there
    assert outcome.decisions[0].reason == "deferred to 07:00: quiet hours"
    assert outcome.counts_toward_cap
    assert decide(Event(), p, NOON_LA, 0).decisions[0].action == Action.SEND


def test_urgent_deals_respect_quiet_hours_unless_the_user_lets_them_through():
    late = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
    quiet = prefs(quiet_start=time(22, 0), quiet_end=time(7, 0))
    assert decide(Event(deal_score=0.99), quiet, late, 0).decisions[0].action == Action.DEFER
    allowing = prefs(quiet_start=time(22, 0), quiet_end=time(7, 0), urgent_in_quiet_hours=True)
    assert decide(Event(deal_score=0.99), allowing, late, 0).decisions[0].action == Action.SEND
    assert decide(Event(deal_score=0.5), allowing, late, 0).decisions[0].action == Action.DEFER


def test_in_window_wraps_midnight_and_equal_or_missing_ends_mean_none():
    assert in_window(time(23), time(22), time(7)) and in_window(time(3), time(22), time(7))
    assert not in_window(time(7), time(22), time(7)) and not in_window(time(12), time(22), time(7))
    assert in_window(time(13), time(12), time(14)) and not in_window(time(14), time(12), time(14))
    assert not in_window(time(3), None, None) and not in_window(time(3), time(3), time(3))


def test_spring_forward_gap_defers_to_the_jump_never_earlier():
    ny = ZoneInfo("America/New_York")
    # 2026-03-08: clocks jump from 02:00 to 03:00. Quiet hours end at 02:30, a time that never happens.
    now = datetime(2026, 3, 8, 6, 10, tzinfo=UTC)  # 01:10 EST
    until = quiet_until(now, time(22, 0), time(2, 30), ny)
    assert until == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT, the moment of the jump
    assert until.astimezone(ny).time() == time(3, 0)


def test_fall_back_fold_ends_at_the_first_occurrence_or_the_second_when_inside_the_repeat():
    ny = ZoneInfo("America/New_York")
    # 2026-11-01: 01:00–02:00 happens twice. Quiet hours 22:00–01:30.
    before = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    assert quiet_until(before, time(22), time(1, 30), ny) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # first 01:30
    in_repeat = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST, the second time round
    assert quiet_until(in_repeat, time(22), time(1, 30), ny) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_next_digest_daily_weekly_and_none_for_immediate():
    now = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # Wednesday 12:00 in Los Angeles
    assert next_digest_at(now, "daily", time(9), 0, LA) == datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    assert next_digest_at(now, "daily", time(13), 0, LA) == datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
    assert next_digest_at(now, "weekly", time(9), 0, LA) == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # Monday
    assert next_digest_at(now, "immediate", time(9), 0, LA) is None


# --- properties ---------------------------------------------------------------------------------

ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "posix/", "right/")))
zones = st.sampled_from(ZONES).map(ZoneInfo)
# Around DST changes as well as anywhere: minutes across two years.
instants = st.integers(min_value=0, max_value=2 * 366 * 24 * 60).map(
    lambda m: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=m, seconds=m % 7)
)
walls = st.integers(min_value=0, max_value=24 * 4 - 1).map(lambda q: time(q // 4, (q % 4) * 15))


@settings(max_examples=400, deadline=None)
@given(now=instants, tz=zones, start=walls, end=walls)
def test_quiet_hours_deferral_is_never_early_and_never_late(now, tz, start, end):
    until = quiet_until(now, start, end, tz)
    local_now = now.astimezone(tz).time().replace(tzinfo=None)
    if until is None:
        assert not in_window(local_now, start, end)
        return
    assert in_window(local_now, start, end)
    assert until > now
    # Never early: at the deferred instant the user's clock is outside quiet hours.
    assert not in_window(until.astimezone(tz).time(), start, end)
    # Never late: a minute earlier the clock still showed quiet hours (or we had only just arrived).
    just_before = until - timedelta(minutes=1)
    if just_before > now:
        assert in_window(just_before.astimezone(tz).time(), start, end)


@settings(max_examples=300, deadline=None)
@given(day=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)), tz=zones, wall=walls)
def test_first_instant_at_shows_that_wall_time_or_the_first_one_after(day, tz, wall):
    at = first_instant_at(day, wall, tz)
    local = at.astimezone(tz).replace(tzinfo=None)
    assert local >= datetime.combine(day, wall)
    # One second earlier the clock had not reached it yet.
    assert (at - timedelta(seconds=1)).astimezone(tz).replace(tzinfo=None) < datetime.combine(day, wall)


@settings(max_examples=300, deadline=None)
@given(
    now=instants,
    tz=zones,
    frequency=st.sampled_from(["immediate", "daily", "weekly"]),
    sent=st.integers(min_value=0, max_value=120),
    cap=st.integers(min_value=1, max_value=100),
    score=st.one_of(st.none(), st.floats(min_value=0, max_value=1)),
    quiet=st.one_of(st.none(), st.tuples(walls, walls)),
)
def test_nothing_is_ever_dropped_and_nothing_leaves_in_quiet_hours(now, tz, frequency, sent, cap, score, quiet):
    start, end = quiet or (None, None)
    p = Preferences(time_zone=tz, frequency=frequency, max_per_day=cap, quiet_start=start, quiet_end=end)
    outcome = decide(Event(deal_score=score), p, now, sent)
    for decision in outcome.decisions:
        assert decision.action != Action.SKIP  # email is on and verified: every event goes somewhere
        assert decision.reason
        if decision.action == Action.SEND:
            assert not in_window(now.astimezone(tz).time(), start, end)
            assert sent < cap
        if decision.action == Action.DEFER:
            assert decision.not_before > now and sent < cap


channel_sets = st.lists(st.sampled_from(NAMES), unique=True).map(tuple)


@settings(max_examples=400, deadline=None)
@given(rule=channel_sets, enabled=channel_sets, verified=st.frozensets(st.sampled_from(NAMES)))
def test_a_deal_reaches_the_user_whenever_any_of_their_channels_can(rule, enabled, verified):
    p = prefs(channels=enabled, verified=verified)
    outcome = decide(Event(channels=rule), p, NOON_LA, 0)
    choice = usable_channels(rule, p)
    usable_own = [c for c in enabled if c in verified]
    if not usable_own:
        # Nothing can reach the user: one skip, saying what to fix and where; never a silent drop.
        assert [d.action for d in outcome.decisions] == [Action.SKIP] and choice.channels == ()
        assert "settings" in outcome.decisions[0].reason
        return
    # Something can: it is sent, on enabled and verified channels only, never on one the user turned off.
    assert all(d.action == Action.SEND for d in outcome.decisions)
    sent_on = [d.channel for d in outcome.decisions]
    assert sent_on == list(choice.channels) and sent_on and set(sent_on) <= set(usable_own)
    # The rule's own usable channels win; only when it has none do the user's stand in.
    wanted_usable = [c for c in (rule or enabled) if c in usable_own]
    assert sent_on == (wanted_usable or usable_own)
    assert choice.fallback == (not wanted_usable)
    # Every channel the rule wanted but could not use is named in the reason, and the save-time sentence.
    missing = [c for c in (rule or enabled) if c not in usable_own]
    for channel in missing:
        label = LABELS[channel]
        assert label in outcome.decisions[0].reason and label in choice.sentence
    assert (outcome.decisions[0].reason == "sent") == (not missing)
