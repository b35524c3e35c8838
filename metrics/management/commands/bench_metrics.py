"""bench_metrics: the metrics page over millions of event rows; prints JSON.

Makes `--events` events (a year of a busy site's mix: views and sessions, notifications sent and
clicked, digests sent and opened with privacy-proxy opens among them, recommendations shown and
clicked, rules and opt-ins) for `--users` shoppers, unless the log already holds that many. On
PostgreSQL they are written by the server itself (INSERT … SELECT over generate_series, a million
per statement); elsewhere through the ORM (for the smoke test's small numbers). Then one full
roll-up (timed; beat's runs afterwards only recount today and yesterday, timed too), and the page
itself, rendered through its view as staff, `--repeat` times per window: the median is reported.
"""

import json
import random
import statistics
import time
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import User
from activity.models import Event, Kind
from dealalerts.benchmarks import QueryCounter
from metrics import rollup
from metrics.models import RollupState
from metrics.views import metrics_page

PREFIX = "bench-metrics-"
CHUNK = 1_000_000

# (kind, channel, share of all events, share of them by machines): a year of a busy site.
MIX = [
    (Kind.LISTING_VIEWED, "", 0.38, 0.0),
    (Kind.SESSION_STARTED, "", 0.10, 0.0),
    (Kind.NOTIFICATION_SENT, "email", 0.08, 0.0),
    (Kind.NOTIFICATION_SENT, "push", 0.05, 0.0),
    (Kind.NOTIFICATION_SENT, "sms", 0.02, 0.0),
    (Kind.NOTIFICATION_CLICKED, "email", 0.025, 0.3),
    (Kind.NOTIFICATION_CLICKED, "push", 0.015, 0.0),
    (Kind.DIGEST_SENT, "email", 0.06, 0.0),
    (Kind.DIGEST_OPENED, "email", 0.05, 0.45),
    (Kind.RECOMMENDATION_SHOWN, "page", 0.17, 0.0),
    (Kind.RECOMMENDATION_CLICKED, "page", 0.02, 0.05),
    (Kind.RULE_CREATED, "", 0.01, 0.0),
    (Kind.SMS_OPTED_IN, "", 0.005, 0.0),
]


class Command(BaseCommand):
    help = "Time the metrics page over many event rows; prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=10_000_000)
        parser.add_argument("--users", type=int, default=50_000)
        parser.add_argument("--days", type=int, default=365, help="How far back the events go.")
        parser.add_argument("--repeat", type=int, default=7)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, events: int, users: int, days: int, repeat: int, seed: int, **options):
        user_ids = self._users(users)
        have = Event.objects.count()
        started = time.perf_counter()
        if have < events:
            self._events(events - have, user_ids, days, seed)
        made_s = time.perf_counter() - started

        RollupState.objects.all().delete()  # a full recount every run, reused events or not
        started = time.perf_counter()
        rollup.roll_up()
        rollup_s = time.perf_counter() - started
        started = time.perf_counter()
        rollup.roll_up()
        incremental_ms = (time.perf_counter() - started) * 1000

        staff = User.objects.filter(is_staff=True).first() or User.objects.create_user(
            f"{PREFIX}staff@example.com", password=None, is_staff=True
        )
        pages = {window: self._page(staff, window, repeat) for window in (7, 30, 90)}
        result = {
            "events": Event.objects.count(),
            "page_ms": pages[30][0],
            "queries": pages[30][1],
            "page_ms_7_days": pages[7][0],
            "page_ms_90_days": pages[90][0],
            "queries_90_days": pages[90][1],
            "rollup_full_s": round(rollup_s, 1),
            "rollup_incremental_ms": round(incremental_ms, 1),
            "events_made_s": round(made_s, 1),
            "database": connection.vendor,
        }
        self.stdout.write(json.dumps(result))

    def _page(self, staff: User, days: int, repeat: int) -> tuple[float, int]:
        timings, queries = [], set()
        for _ in range(repeat + 1):  # the first warms the template cache and the connection
            request = RequestFactory().get("/staff/metrics/", {"days": str(days)})
            request.user = staff
            counter = QueryCounter()
            started = time.perf_counter()
            with connection.execute_wrapper(counter):
                response = metrics_page(request)
            timings.append((time.perf_counter() - started) * 1000)
            queries.add(counter.count)
            assert response.status_code == 200, response.status_code
        return round(statistics.median(timings[1:]), 1), max(queries)

    def _users(self, n: int) -> list[int]:
        have = list(User.objects.filter(email__startswith=PREFIX).order_by("id").values_list("id", flat=True))
        if len(have) < n:
            User.objects.bulk_create(
                [User(email=f"{PREFIX}{i}@example.com", password="!") for i in range(len(have), n)], batch_size=5000
            )
            have = list(User.objects.filter(email__startswith=PREFIX).order_by("id").values_list("id", flat=True))
        return have[:n]

    def _events(self, n: int, user_ids: list[int], days: int, seed: int) -> None:
        if connection.vendor == "postgresql":
            for start in range(0, n, CHUNK):
                self._insert_on_server(min(CHUNK, n - start), user_ids, days)
                self.stderr.write(f"{start + min(CHUNK, n - start):,} events")
        else:
            self._insert_through_orm(n, user_ids, days, seed)

    def _insert_on_server(self, n: int, user_ids: list[int], days: int) -> None:
        """One statement: each generated row draws its kind from MIX by a random number, its user and time."""
        cases, bound = [], 0.0
        total = sum(share for _, _, share, _ in MIX)
        for kind, channel, share, machine in MIX:
            bound += share / total
            cases.append(f"WHEN r < {bound:.6f} THEN ARRAY['{kind}', '{channel}', '{machine}']")
        sql = f"""
            WITH drawn AS (
                SELECT random() AS r, random() AS m, random() AS t, g AS n
                FROM generate_series(1, %(n)s) AS g
            ), typed AS (
                SELECT CASE {" ".join(cases)} ELSE ARRAY['{Kind.LISTING_VIEWED}', '', '0'] END AS k, m, t, n
                FROM drawn
            )
            INSERT INTO activity_event
                (kind, channel, provider, user_id, listing_id, ref_id, session, machine, repeat, first_human,
                 user_agent, detail, created_at)
            SELECT k[1], k[2], '', (%(users)s::bigint[])[1 + (n::bigint * 7919) %% %(user_count)s],
                   n, n, '', m < k[3]::float, false, m >= k[3]::float, '', 'bench',
                   now() - t * interval '{days} days'
            FROM typed
        """
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"n": n, "users": user_ids, "user_count": len(user_ids)})

    def _insert_through_orm(self, n: int, user_ids: list[int], days: int, seed: int) -> None:
        rng, now = random.Random(seed), timezone.now()
        kinds = [(kind, channel, machine) for kind, channel, _, machine in MIX]
        weights = [share for _, _, share, _ in MIX]
        rows = []
        for i in range(n):
            kind, channel, machine_share = rng.choices(kinds, weights)[0]
            machine = rng.random() < machine_share
            rows.append(
                Event(
                    kind=kind,
                    channel=channel,
                    user_id=rng.choice(user_ids),
                    ref_id=i,
                    machine=machine,
                    first_human=not machine,
                    detail="bench",
                    created_at=now - timedelta(seconds=rng.random() * days * 86400),
                )
            )
        Event.objects.bulk_create(rows, batch_size=5000)
