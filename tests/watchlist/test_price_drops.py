"""The price-drop rules: when a watched price is news, and the three ways other trackers get it wrong."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from watchlist.price_drops import PriceDrop, Watch, on_price

DAY = date(2026, 11, 26)


def watching(price="380", threshold=None) -> Watch:
    p = D(price)
    return Watch(added_price=p, reference_price=p, lowest_price=p, threshold=D(threshold) if threshold else None)


def run(watch: Watch, prices, day=DAY, step=timedelta(days=1)):
    """Feed prices one per day (by default); the drops told."""
    told = []
    for price in prices:
        watch, drop = on_price(watch, D(price), day)
        if drop:
            told.append(drop)
        day += step
    return watch, told


def test_reaching_the_target_is_told_with_what_it_was_and_is_urgent():
    watch, drop = on_price(watching("380", "320"), D("310"), DAY)
    assert drop == PriceDrop(price=D("310"), was=D("380"), threshold=D("320"), new_low=False)
    assert (drop.percent, drop.urgent, drop.news) == (18, True, "drop:310")
    assert watch.alert_sent and watch.last_alert_price == D("310") and watch.lowest_price == D("310")


def test_above_the_target_nothing_is_said():
    _, told = run(watching("380", "320"), ["360", "340", "321"])
    assert told == []


def test_any_drop_must_be_a_real_one_not_a_nudge():
    # Watched at $100 without a target: 2% and $1 is the least that counts.
    _, told = run(watching("100"), ["99.99", "99.50", "98.01"])
    assert told == []
    _, told = run(watching("100"), ["98.00"])
    assert [d.price for d in told] == [D("98.00")] and not told[0].urgent
    # On a cheap item the dollar is the larger minimum.
    _, told = run(watching("20"), ["19.50", "19.10"])
    assert told == []
    assert run(watching("20"), ["19.00"])[1][0].price == D("19.00")


def test_after_an_alert_only_a_new_low_five_percent_under_is_news():
    _, told = run(watching("380", "320"), ["310", "300", "295", "294.50", "280"])
    assert [(d.price, d.new_low) for d in told] == [(D("310"), False), (D("294.50"), True)]
    # "was" is the highest price since the user last heard.
    _, told = run(watching("380", "320"), ["310", "318", "290"])
    assert told[1].was == D("318")


def test_rising_back_past_the_target_by_the_margin_rearms():
    # Target $320: re-armed above $336 (5%).
    _, told = run(watching("380", "320"), ["310", "330", "315", "340", "315"])
    assert [d.price for d in told] == [D("310"), D("315")]
    assert told[1].was == D("340") and not told[1].new_low


def test_a_price_flapping_around_the_target_alerts_once():
    _, told = run(watching("380", "320"), ["319", "321", "319", "322", "318", "321", "319"] * 3)
    assert [d.price for d in told] == [D("319")]


def test_never_two_alerts_for_one_item_on_one_day():
    watch, told = run(watching("380", "320"), ["310", "340", "300", "250"], step=timedelta(0))
    assert [d.price for d in told] == [D("310")]
    # The next day the next real change is told (it re-armed at $340 the same day).
    watch, drop = on_price(watch, D("249"), DAY + timedelta(days=1))
    assert drop is not None and (drop.price, drop.was, drop.new_low) == (D("249"), D("340"), False)


def test_wording_of_a_drop_without_target_and_of_a_new_low():
    from watchlist.services import drop_headline

    _, told = run(watching("380", "320"), ["310", "290"])
    assert (
        drop_headline("ThinkPad T14", told[0])
        == "ThinkPad T14 dropped to $310 (−18%, was $380) — below your $320 target"
    )
    assert drop_headline("ThinkPad T14", told[1]) == (
        "ThinkPad T14 dropped to $290 (−6%, was $310) — below your $320 target, a new low"
    )
    _, told = run(watching("100"), ["90"])
    assert drop_headline("Bike", told[0]) == "Bike dropped to $90 (−10%, was $100)"


prices = st.decimals(min_value=D("1"), max_value=D("500"), places=2, allow_nan=False, allow_infinity=False)
# A step: a new price, or the user changing the target (None: any drop) at the current price.
steps = st.lists(
    st.one_of(
        prices.map(lambda p: ("price", p)),
        st.one_of(st.none(), st.decimals(min_value=D("0.5"), max_value=D("0.99"), places=2)).map(
            lambda f: ("target", f)
        ),
    ),
    min_size=1,
    max_size=40,
)


@given(start=st.decimals(min_value=D("5"), max_value=D("500"), places=2), sequence=steps, per_day=st.integers(1, 4))
def test_every_alert_is_a_real_drop_a_new_low_or_after_a_rearm_and_never_two_a_day(start, sequence, per_day):
    watch = Watch(added_price=start, reference_price=start, lowest_price=start)
    price, seen = start, [start]
    alerts_by_day: dict[date, int] = {}
    rearms = retargets = armed_alerts = 0
    for i, (kind, value) in enumerate(sequence):
        day = DAY + timedelta(days=i // per_day)
        if kind == "target":  # as services.set_threshold does: a new target starts armed from today's price
            threshold = (price * value).quantize(D("0.01")) if value is not None else None
            watch = replace(watch, threshold=threshold, alert_sent=False, reference_price=price)
            retargets += 1
            continue
        before, price = watch, value
        seen.append(price)
        watch, drop = on_price(before, price, day)
        assert watch.lowest_price == min(seen)
        if before.alert_sent and not watch.alert_sent:
            rearms += 1
        if drop is None:
            continue
        alerts_by_day[day] = alerts_by_day.get(day, 0) + 1
        assert drop.price == price < drop.was and drop.percent >= 2
        if drop.new_low:  # a new low: at least 5% and $1 under the last alert
            assert before.alert_sent and price <= before.last_alert_price * D("0.95")
            assert before.last_alert_price - price >= D("1")
        else:  # armed: a real drop from "was" (2% and $1), at or below the target when there is one
            armed_alerts += 1
            assert not before.alert_sent
            assert drop.was - price >= max(drop.was * D("0.02"), D("1"))
            assert before.threshold is None or price <= before.threshold
        assert drop.urgent == (before.threshold is not None and price <= before.threshold)
    assert all(n == 1 for n in alerts_by_day.values())  # never two in a day
    # Arming happens once at the start and again only at a re-arm or a new target: no alert without one.
    assert armed_alerts <= 1 + rearms + retargets


def test_clearing_a_target_after_the_price_drifted_says_nothing_on_a_rise():
    # Watched at $100 with a $50 target; the price drifts to $80; the target is cleared (any drop).
    watch = replace(watching("100", "50"), lowest_price=D("80"))
    watch = replace(watch, threshold=None, alert_sent=False, reference_price=D("80"))
    assert on_price(watch, D("80.50"), DAY)[1] is None  # a rise is never news
    assert on_price(watch, D("79.50"), DAY)[1] is None  # nor a nudge
    assert on_price(watch, D("78.40"), DAY)[1].was == D("80")


def test_a_drop_from_a_higher_price_is_news_without_a_target():
    _, told = run(watching("100"), ["200", "150"])
    assert [(d.price, d.was, d.percent) for d in told] == [(D("150"), D("200"), 25)]


def test_a_target_just_under_the_price_still_needs_a_real_drop():
    _, told = run(watching("100", "99.99"), ["99.98", "99.50", "98.00"])
    assert [d.price for d in told] == [D("98.00")]
