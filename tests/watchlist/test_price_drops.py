"""The price-drop rules: when a watched price is news, and the three ways other trackers get it wrong."""

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


prices = st.lists(
    st.decimals(min_value=D("1"), max_value=D("500"), places=2, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
)


@given(
    start=st.decimals(min_value=D("5"), max_value=D("500"), places=2),
    target_fraction=st.one_of(st.none(), st.decimals(min_value=D("0.5"), max_value=D("0.99"), places=2)),
    sequence=prices,
    per_day=st.integers(min_value=1, max_value=4),
)
def test_alerts_never_outnumber_new_lows_and_rearms_and_never_two_a_day(start, target_fraction, sequence, per_day):
    threshold = (start * target_fraction).quantize(D("0.01")) if target_fraction else None
    if threshold is not None and threshold <= 0:
        threshold = None
    watch = Watch(added_price=start, reference_price=start, lowest_price=start, threshold=threshold)
    alerts_by_day: dict[date, int] = {}
    rearms = new_lows = 0
    last_alert = None
    for i, price in enumerate(sequence):
        day = DAY + timedelta(days=i // per_day)
        was_sent = watch.alert_sent
        watch, drop = on_price(watch, price, day)
        if was_sent and not watch.alert_sent:
            rearms += 1
        if drop:
            alerts_by_day[day] = alerts_by_day.get(day, 0) + 1
            if last_alert is not None and price < last_alert:
                new_lows += 1
            last_alert = price
            # A drop is real: under the line, and under what it was.
            assert drop.price < drop.was
            if threshold is not None:
                assert drop.price <= threshold
            else:
                assert start - drop.price >= max(start * D("0.02"), D("1")) or drop.new_low
        assert watch.lowest_price == min([start, *sequence[: i + 1]])
    assert all(n == 1 for n in alerts_by_day.values())
    assert sum(alerts_by_day.values()) <= 1 + rearms + new_lows
