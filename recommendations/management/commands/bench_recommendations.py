"""bench_recommendations: refresh every shopper's cached list as the beat's batch tasks do, and time a
stale list recomputed on request; prints JSON.

Listings come from `seed_demo` (a month of them through the real ingest path) when the database has
fewer than `--listings`; shoppers are `recommendations.demo.seed_shoppers` (hidden tastes, a month of
views, watches, purchases and dismissals each), reused when they exist. The refresh is timed batch by
batch after one warm-up batch, which builds what a worker process keeps for a while (the candidate
pool and the similar-users model) and is reported on its own. Queries are counted per batch.
"""

import json
import statistics
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from accounts.models import User
from dealalerts.benchmarks import QueryCounter
from listings.models import Listing
from recommendations import services
from recommendations.demo import seed_shoppers

PREFIX = "bench"


class Command(BaseCommand):
    help = "Time the recommendation refresh per batch and a stale list on request; prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=10_000)
        parser.add_argument("--listings", type=int, default=20_000)
        parser.add_argument("--on-request", type=int, default=200, help="Stale lists recomputed on request.")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, users: int, listings: int, on_request: int, seed: int, **options):
        if Listing.objects.count() < listings:
            call_command("seed_demo", listings=listings, force=True, stdout=self.stderr)
        made = time.perf_counter()
        seed_shoppers(users, seed=seed, prefix=PREFIX)
        seeding_s = time.perf_counter() - made
        ids = list(
            User.objects.filter(email__startswith=f"{PREFIX}-").order_by("id").values_list("id", flat=True)[:users]
        )
        batches = [ids[start : start + services.BATCH_SIZE] for start in range(0, len(ids), services.BATCH_SIZE)]

        services.forget_shared_parts()
        started = time.perf_counter()
        services.refresh(batches[0])
        warmup_s = time.perf_counter() - started

        queries, seconds = [], []
        for batch in batches:
            counter = QueryCounter()
            started = time.perf_counter()
            with connection.execute_wrapper(counter):
                services.refresh(batch)
            seconds.append(time.perf_counter() - started)
            queries.append(counter.count)

        sample = [User.objects.get(pk=pk) for pk in ids[:: max(1, len(ids) // on_request)][:on_request]]
        timings = []
        for user in sample:
            services.mark_stale(user)
            started = time.perf_counter()
            services.recommendations_for(user)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        shown = services.lists_for([user.id for user in sample[:50]])
        self.stdout.write(
            json.dumps(
                {
                    "users": len(ids),
                    "users_per_s": round(len(ids) / sum(seconds), 1),
                    "queries_per_batch": max(queries),
                    "queries_constant": len(set(queries)) == 1,
                    "p99_ms_on_request": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 1),
                    "p50_ms_on_request": round(statistics.median(timings), 1),
                    "batch_size": services.BATCH_SIZE,
                    "batches": len(batches),
                    "ms_per_batch_p50": round(statistics.median(seconds) * 1000, 1),
                    "warmup_s": round(warmup_s, 2),
                    "candidates": len(services.shared_pool_listings()),
                    "listings": Listing.objects.count(),
                    "signals_per_user": round(services.signal_count(ids) / max(1, len(ids)), 1),
                    "lists_with_ten": sum(len(items) == 10 for items in shown.values()),
                    "seeding_s": round(seeding_s, 1),
                    "database": connection.vendor,
                }
            )
        )
