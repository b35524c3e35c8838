"""The seed's six success metrics, from the daily roll-ups: what each measures, its value, its target.

`read` makes the page's three queries, whatever the traffic; `summarise` is a pure function of
their rows, so each metric's arithmetic is tested on exact, hand-made counts.

How each is measured (the page says the same to whoever reads it):

- Alert click-through: deal notifications clicked by a person / sent, per channel message (email,
  SMS, Discord, push; a message clicked twice counts once). Target "+40%": against the previous
  period of the same length.
- Users with an alert rule: of the users active in the window (signed in and did something), the
  share with at least one rule. Target 60%.
- Digest open rate: digests opened by a person / sent. Privacy proxies' and scanners' opens are
  left out (see `activity.machines`); the rate with them is shown beside it. Target > 25%.
- SMS opt-in rate: of the users active in the window, the share with a verified phone that has not
  said STOP. Target 15%.
- Deals viewed per session: listing pages viewed / browsing sessions started (a session ends after
  30 minutes idle). Target "+50%": against the previous period.
- Recommendation click-through: recommendations clicked by a person / shown (each card on For you,
  in the API and in digests counts as shown once per time it is shown). Target > 70%: the seed's
  "accuracy" target, measured here as the share of recommendations shown that were clicked.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q

from activity.models import Kind

from .models import ActiveUser, DailyCount, DailyUsers, RollupState
from .rollup import utc_day

WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30


@dataclass(frozen=True)
class Window:
    days: int
    end: date  # inclusive: today

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)

    @property
    def previous_start(self) -> date:
        return self.start - timedelta(days=self.days)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


@dataclass
class Metric:
    slug: str
    name: str
    measured_as: str
    target_label: str
    target: float  # a rate, a share, or (for "+40%"-style targets) the relative change wanted
    fmt: str  # "percent" | "number"
    value: float | None = None
    previous: float | None = None
    with_machines: float | None = None  # the same rate counting privacy proxies and link scanners
    numerator: int = 0
    denominator: int = 0
    series: list[tuple[date, float | None]] = field(default_factory=list)
    against_previous: bool = False  # the target is a change on the previous period

    @property
    def change(self) -> float | None:
        if self.value is None or not self.previous:
            return None
        return self.value / self.previous - 1

    @property
    def meets(self) -> bool | None:
        """Whether the target is met; None when there is nothing to judge by yet."""
        if self.against_previous:
            return None if self.change is None else self.change >= self.target
        return None if self.value is None else self.value >= self.target

    @property
    def chart_target(self) -> float | None:
        """The line the chart draws: the target itself, or the previous period's value raised by it."""
        if self.against_previous:
            return None if self.previous is None else self.previous * (1 + self.target)
        return self.target


@dataclass(frozen=True)
class Rows:
    """What `read` fetched: roll-up counts for this window and the one before, daily users, active users."""

    counts: list[tuple[date, str, str, bool, bool, bool, int]]  # day, kind, channel, machine, repeat, first_human, n
    daily_users: list[tuple[date, int, int, int]]  # day, active, with_rule, sms_on
    active: int
    with_rule: int
    sms_on: int
    rolled_up_at: datetime | None = None


def read(window: Window) -> Rows:
    """The page's queries: three, plus one for the roll-up's freshness, however many events there are."""
    from .rollup import sms_on_at, with_rule_by  # the same "had a rule / SMS" the daily counts use

    counts = list(
        DailyCount.objects.filter(
            day__gte=window.previous_start, day__lte=window.end, kind__in=COUNTED_KINDS
        ).values_list("day", "kind", "channel", "machine", "repeat", "first_human", "count")
    )
    daily = list(
        DailyUsers.objects.filter(day__gte=window.start, day__lte=window.end).values_list(
            "day", "active", "with_rule", "sms_on"
        )
    )
    users = (
        ActiveUser.objects.filter(last_active_on__gte=window.start)
        .annotate(has_rule=with_rule_by(None), has_sms=sms_on_at(None))
        .aggregate(
            active=Count("user_id"),
            with_rule=Count("user_id", filter=Q(has_rule=True)),
            sms_on=Count("user_id", filter=Q(has_sms=True)),
        )
    )
    state = RollupState.objects.order_by("pk").values_list("rolled_up_at", flat=True).first()
    return Rows(counts, daily, users["active"], users["with_rule"], users["sms_on"], state)


COUNTED_KINDS = (
    Kind.NOTIFICATION_SENT,
    Kind.NOTIFICATION_CLICKED,
    Kind.DIGEST_SENT,
    Kind.DIGEST_OPENED,
    Kind.RECOMMENDATION_SHOWN,
    Kind.RECOMMENDATION_CLICKED,
    Kind.LISTING_VIEWED,
    Kind.SESSION_STARTED,
)


class _Tally:
    """Sums of the roll-up rows by what the metrics ask: all, first by anyone, first by a person."""

    def __init__(self, counts: Iterable[tuple]) -> None:
        self.all: dict[tuple[date, str], int] = defaultdict(int)
        self.first: dict[tuple[date, str], int] = defaultdict(int)
        self.human: dict[tuple[date, str], int] = defaultdict(int)
        for day, kind, _channel, _machine, repeat, first_human, n in counts:
            self.all[(day, kind)] += n
            if not repeat:
                self.first[(day, kind)] += n
            if first_human:
                self.human[(day, kind)] += n

    @staticmethod
    def total(table: dict, kind: str, days: Iterable[date]) -> int:
        return sum(table.get((day, kind), 0) for day in days)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def summarise(rows: Rows, window: Window) -> list["Metric"]:
    tally = _Tally(rows.counts)
    days = window.dates()
    previous_days = [window.previous_start + timedelta(days=i) for i in range(window.days)]

    def rate(metric: Metric, counted: str, over: str, *, people: dict, anyone: dict | None) -> Metric:
        """`counted` (as `people` tallies it: by people, or all) ÷ every `over`, this period and the last."""
        metric.numerator = tally.total(people, counted, days)
        metric.denominator = tally.total(tally.all, over, days)
        metric.value = _ratio(metric.numerator, metric.denominator)
        metric.previous = _ratio(
            tally.total(people, counted, previous_days), tally.total(tally.all, over, previous_days)
        )
        if anyone is not None:
            metric.with_machines = _ratio(tally.total(anyone, counted, days), metric.denominator)
        metric.series = [(day, _ratio(people.get((day, counted), 0), tally.all.get((day, over), 0))) for day in days]
        return metric

    def share(metric: Metric, numerator: int, column: int) -> Metric:
        metric.numerator, metric.denominator = numerator, rows.active
        metric.value = _ratio(numerator, rows.active)
        by_day = {row[0]: _ratio(row[column], row[1]) for row in rows.daily_users}
        metric.series = [(day, by_day.get(day)) for day in days]
        return metric

    return [
        rate(
            Metric(
                "alert-click-through",
                "Alert click-through",
                "Deal notifications clicked by a person ÷ sent, counting each message (email, SMS, Discord, "
                "push) once however often it is clicked. Compared with the previous period of the same length.",
                "+40% on the previous period",
                0.40,
                "percent",
                against_previous=True,
            ),
            Kind.NOTIFICATION_CLICKED,
            Kind.NOTIFICATION_SENT,
            people=tally.human,
            anyone=tally.first,
        ),
        share(
            Metric(
                "users-with-a-rule",
                "Active users with an alert rule",
                "Of the users who did something in the window (signed in and browsed, clicked or opened), "
                "the share with at least one alert rule. The chart is each day's active users.",
                "60% or more",
                0.60,
                "percent",
            ),
            rows.with_rule,
            2,
        ),
        rate(
            Metric(
                "digest-open-rate",
                "Digest open rate",
                "Digests opened by a person ÷ digests sent. Opens by mail privacy proxies (Apple Mail) and "
                "link scanners are left out; the rate counting them is shown for comparison.",
                "more than 25%",
                0.25,
                "percent",
            ),
            Kind.DIGEST_OPENED,
            Kind.DIGEST_SENT,
            people=tally.human,
            anyone=tally.first,
        ),
        share(
            Metric(
                "sms-opt-in-rate",
                "SMS opt-in rate",
                "Of the users active in the window, the share with a verified phone that has not replied STOP.",
                "15% or more",
                0.15,
                "percent",
            ),
            rows.sms_on,
            3,
        ),
        rate(
            Metric(
                "deals-per-session",
                "Deals viewed per session",
                "Listing pages viewed ÷ browsing sessions (a session ends after 30 minutes without a page). "
                "Compared with the previous period of the same length.",
                "+50% on the previous period",
                0.50,
                "number",
                against_previous=True,
            ),
            Kind.LISTING_VIEWED,
            Kind.SESSION_STARTED,
            people=tally.all,  # every view counts: a view is a person's
            anyone=None,
        ),
        rate(
            Metric(
                "recommendation-click-through",
                "Recommendation click-through",
                "Recommendations clicked by a person ÷ recommendations shown (each card on For you, in the "
                "app and in digests, each time it is shown). The seed's target was written for "
                "'accuracy'; this is what we can measure of it: how many of the deals we put in front of "
                "someone they opened.",
                "more than 70%",
                0.70,
                "percent",
            ),
            Kind.RECOMMENDATION_CLICKED,
            Kind.RECOMMENDATION_SHOWN,
            people=tally.human,
            anyone=tally.first,
        ),
    ]


def metrics_for(days: int, now: datetime) -> tuple[list[Metric], Rows, Window]:
    window = Window(days, utc_day(now))
    rows = read(window)
    return summarise(rows, window), rows, window
