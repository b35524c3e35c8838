"""/metrics for Prometheus: the operations page's figures as gauges, behind a bearer token.

A custom collector reads `read_operations` once per scrape and yields gauges from it, on a
registry of its own (not the process-wide default, whose process and Python metrics would differ
between the web workers a scrape happens to reach).
"""

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .operations import Operations, read_operations

PREFIX = "dealalerts"


def gauges(ops: Operations) -> Iterator[Metric]:
    """Every figure of `ops` as a gauge; an age that does not exist (an empty queue) is 0."""

    def gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)

    up = gauge("broker_up", "1 when the Celery broker answered")
    up.add_metric([], 0 if ops.broker.error else 1)
    yield up
    depth = gauge("queue_depth", "Messages waiting in a Celery queue", ["queue"])
    age = gauge("queue_oldest_age_seconds", "How long the oldest waiting message has waited", ["queue"])
    for queue in ops.broker.queues:
        depth.add_metric([queue.name], queue.depth)
        age.add_metric([queue.name], queue.oldest_age.total_seconds() if queue.oldest_age else 0)
    yield depth
    yield age

    outbox = gauge(
        "outbox_deliveries", "Deliveries by status and channel (finished ones: last 24 h)", ["status", "channel"]
    )
    for row in ops.outbox.counts:
        outbox.add_metric([row.status, row.channel], row.count)
    yield outbox
    due = gauge("outbox_due", "Pending or deferred deliveries whose time has come")
    due.add_metric([], ops.outbox.due)
    yield due
    due_age = gauge("outbox_oldest_due_age_seconds", "How long the oldest due delivery has been due")
    due_age.add_metric([], ops.outbox.oldest_due_age.total_seconds() if ops.outbox.oldest_due_age else 0)
    yield due_age

    trouble = gauge(
        "notification_trouble",
        "Failed, retried and fell-back notifications over a window",
        ["kind", "channel", "provider", "window"],
    )
    for p in ops.providers:
        for kind, hour, day in (
            ("failed", p.failed_hour, p.failed_day),
            ("retried", p.retried_hour, p.retried_day),
            ("fell_back", p.fell_back_hour, p.fell_back_day),
        ):
            trouble.add_metric([kind, p.channel, p.provider, "1h"], hour)
            trouble.add_metric([kind, p.channel, p.provider, "1d"], day)
    yield trouble

    late = gauge("beat_late", "1 when an enabled beat schedule missed a due run", ["name"])
    last_run = gauge("beat_last_run_age_seconds", "Since a beat schedule's last run (absent: never)", ["name"])
    for s in ops.schedules:
        late.add_metric([s.name], int(s.late))
        if s.last_run_at:
            last_run.add_metric([s.name], max(0.0, (ops.now - s.last_run_at).total_seconds()))
    yield late
    yield last_run

    rate = gauge("email_rate", "Bounces or complaints over email sends, last 7 days", ["kind"])
    limit = gauge("email_rate_limit", "The rate ESPs act at", ["kind"])
    sends = gauge("email_sends_7d", "Email sends (deal emails and digests), last 7 days")
    for r in ops.email_rates:
        rate.add_metric([r.name], r.rate or 0)
        limit.add_metric([r.name], float(r.limit))
    sends.add_metric([], ops.email_rates[0].sends if ops.email_rates else 0)
    yield rate
    yield limit
    yield sends

    listings = gauge("listings", "Listings first seen or seen again over a window", ["seen", "window"])
    listings.add_metric(["first", "5m"], ops.ingest.first_seen_5m)
    listings.add_metric(["first", "1h"], ops.ingest.first_seen_1h)
    listings.add_metric(["updated", "5m"], ops.ingest.updated_5m)
    listings.add_metric(["updated", "1h"], ops.ingest.updated_1h)
    yield listings
    lag = gauge("matcher_lag_seconds", "From a listing's arrival to its matches, last hour", ["quantile"])
    if ops.ingest.matcher_lag_p50 is not None:
        lag.add_metric(["0.5"], ops.ingest.matcher_lag_p50.total_seconds())
        lag.add_metric(["1"], ops.ingest.matcher_lag_max.total_seconds())
    yield lag

    warnings = gauge("operations_warnings", "Warnings the operations page shows")
    warnings.add_metric([], len(ops.warnings))
    yield warnings


class OperationsCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from gauges(read_operations(timezone.now()))


def exposition() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OperationsCollector())
    return generate_latest(registry)


def _bearer(request: HttpRequest) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


@require_GET
def metrics_exposition(request: HttpRequest) -> HttpResponse:
    """Prometheus' scrape: `Authorization: Bearer <METRICS_TOKEN>`, or a staff session.

    With no token configured the endpoint does not exist for anyone but staff (404). With one, a
    wrong token or a signed-in shopper gets 403 and a request with no credentials 401.
    """
    token, sent = settings.METRICS_TOKEN, _bearer(request)
    staff = request.user.is_authenticated and request.user.is_staff
    if token and sent is not None:
        # Compared in constant time: no timing clue how much of a guess was right.
        allowed = hmac.compare_digest(sent.encode(), token.encode())
        if not allowed:
            return HttpResponse("Wrong metrics token.\n", status=403, content_type="text/plain")
    elif not staff:
        if not token:
            raise Http404("No such page.")
        if request.user.is_authenticated:
            return HttpResponse("Staff only.\n", status=403, content_type="text/plain")
        response = HttpResponse("Send Authorization: Bearer <token>.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
