"""bench_watchlist: time `check_listings` on batches of re-priced listings, as ingestion calls it; prints JSON.

Users, listings (through the real ingest path, without announcing them) and watch items are
generated deterministically: each watched listing has a handful of watchers (one to a few dozen,
about five on average), four in ten with a target 5–25% under the price they watched at. Then
`--repriced` watched listings change price: real drops (5–30%), nudges (a cent or well under 1%)
and rises, stored as ingestion stores them (the listing's price and a price point). The timing
covers `watchlist.services.check_listings` on each batch of 1,000 listing ids: reading and locking
the watchers, the price-drop rules, writing the items' state, and `notify` creating the
notifications and deliveries. Each batch runs in a transaction that is rolled back at the end, so
nothing is delivered and a rerun measures the same work; the commit itself is therefore not timed.
"""

import json
import random
import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from dealalerts.benchmarks import QueryCounter
from dealalerts.db import update_rows
from listings.demo import generate
from listings.ingest import ingest_listings
from listings.models import Listing, PricePoint
from listings.validation import category_ids_by_slug, parse_listing
from notifications.models import NotificationPreferences
from watchlist import services
from watchlist.models import WatchlistItem
from watchlist.tasks import BATCH

PREFIX = "bench-watch"
CREATE_BATCH = 10_000
ZONES = ["America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York", "Pacific/Honolulu"]
CENT = Decimal("0.01")


class Rollback(Exception):
    """Ends a measured batch's transaction without committing it."""


class Command(BaseCommand):
    help = "Measure the watchlist's price-drop check on batches of 1,000 re-priced listings; prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--items", type=int, default=1_000_000)
        parser.add_argument("--repriced", type=int, default=10_000)
        parser.add_argument("--users", type=int, default=0, help="Default: one per 10 items.")
        parser.add_argument("--watchers", type=float, default=5.0, help="Average watchers of a watched listing.")
        parser.add_argument("--batch", type=int, default=BATCH, help="Listing ids per call, as the ingest task sends.")
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument("--keep", action="store_true", help="Keep the generated data afterwards.")

    def handle(
        self, items: int, repriced: int, users: int, watchers: float, batch: int, seed: int, keep: bool, **options
    ):
        if items < 1 or repriced < 1 or watchers < 1 or batch < 1:
            raise CommandError("--items, --repriced, --watchers and --batch must be at least 1.")
        users = users or max(1, items // 10)
        listings = max(repriced, round(items / watchers))
        run = uuid.uuid4().hex[:8]
        now = timezone.now()
        rng = random.Random(seed)
        try:
            started = time.perf_counter()
            user_ids = self._users(run, users, rng)
            listing_ids = self._listings(run, listings, seed)
            created = self._items(user_ids, listing_ids, items, rng, now)
            ids = self._reprice(listing_ids, repriced, rng, now)
            self._analyze()
            setup_s = time.perf_counter() - started
            result = self._measure(ids, batch, now + timedelta(seconds=1))
        finally:
            if not keep:
                self._clean(run)
        self.stdout.write(
            json.dumps(
                {
                    "items": created,
                    "repriced": len(ids),
                    **result,
                    "users": users,
                    "listings": len(listing_ids),
                    "setup_s": round(setup_s, 1),
                    "database": connection.vendor,
                }
            )
        )

    # --- the measurement ----------------------------------------------------------------------------

    def _measure(self, ids: list[int], size: int, now) -> dict:
        counter = QueryCounter()
        ms: list[float] = []
        queries: list[int] = []
        notify_ms: list[float] = []
        alerts = watchers = 0
        original_notify = services.notify
        spent = [0.0]

        def timed_notify(events, **kwargs):
            began = time.perf_counter()
            try:
                return original_notify(events, **kwargs)
            finally:
                spent[0] += time.perf_counter() - began

        services.notify = timed_notify  # to say how much of a batch is notify's
        try:
            with connection.execute_wrapper(counter):
                for start in range(0, len(ids), size):
                    batch = ids[start : start + size]
                    before, spent[0] = counter.count, 0.0
                    try:
                        with transaction.atomic():
                            began = time.perf_counter()
                            checked = services.check_listings(batch, now=now)
                            ms.append((time.perf_counter() - began) * 1000)
                            raise Rollback
                    except Rollback:
                        pass
                    # Less the two savepoint statements of check_listings' atomic block, nested here in
                    # ours; called from the task it is the outermost and issues none.
                    queries.append(counter.count - before - 2)
                    notify_ms.append(spent[0] * 1000)
                    alerts += checked.drops
                    watchers += checked.items
        finally:
            services.notify = original_notify
        whole = len(ids) // size or 1  # a last, partial batch is left out of the figures
        full, queries = ms[:whole], queries[:whole]
        return {
            "alerts": alerts,
            "watchers_checked": watchers,
            "ms_per_batch_of_1000": round(statistics.mean(full), 1),
            "ms_p50": round(statistics.median(full), 1),
            "ms_max": round(max(full), 1),
            "notify_ms_per_batch": round(statistics.mean(notify_ms[:whole]), 1),
            "queries_per_batch": max(queries),
            "queries_per_batch_constant": min(queries) == max(queries),
            "batch": size,
            "batches": len(ms),
        }

    # --- the data -----------------------------------------------------------------------------------

    def _users(self, run: str, count: int, rng: random.Random) -> list[int]:
        confirmed = timezone.now()
        for start in range(0, count, CREATE_BATCH):
            User.objects.bulk_create(
                User(
                    email=f"{PREFIX}-{run}-{i}@dealalerts.local",
                    password="!",
                    time_zone=rng.choice(ZONES),
                    email_confirmed_at=confirmed,
                )
                for i in range(start, min(count, start + CREATE_BATCH))
            )
        user_ids = list(User.objects.filter(email__startswith=f"{PREFIX}-{run}-").values_list("id", flat=True))
        for start in range(0, len(user_ids), CREATE_BATCH):
            # Most people hear at once; some read a digest (their drops are held, which is cheaper).
            NotificationPreferences.objects.bulk_create(
                NotificationPreferences(user_id=uid, frequency="immediate" if rng.random() < 0.7 else "daily")
                for uid in user_ids[start : start + CREATE_BATCH]
            )
        return user_ids

    def _listings(self, run: str, count: int, seed: int) -> list[int]:
        categories = category_ids_by_slug()
        pending = []
        for item in generate(seed, count, prefix=f"{PREFIX}-{run}"):
            pending.append(parse_listing(item.raw, categories)[0])
            if len(pending) == 1000:
                ingest_listings(pending, announce=False)
                pending = []
        if pending:
            ingest_listings(pending, announce=False)
        return list(
            Listing.objects.filter(external_id__startswith=f"{PREFIX}-{run}-", is_active=True)
            .order_by("id")
            .values_list("id", flat=True)
        )

    def _items(self, user_ids: list[int], listing_ids: list[int], count: int, rng: random.Random, now) -> int:
        """`count` items over the listings, a handful of watchers each (exponential: most few, some many)."""
        prices = dict(Listing.objects.filter(id__in=listing_ids).values_list("id", "price")) if count else {}
        rows, made = [], 0
        for i, listing_id in enumerate(listing_ids):
            left, listings_left = count - made, len(listing_ids) - i
            if left <= 0:
                break
            mean = left / listings_left  # what is left, spread over the listings left
            k = 1 + int(rng.expovariate(1 / max(mean - 1, 0.01)))
            k = left if listings_left == 1 else max(1, min(k, left - (listings_left - 1)))
            price = prices[listing_id]
            for user_id in rng.sample(user_ids, min(k, len(user_ids))):
                threshold = None
                if rng.random() < 0.4:
                    threshold = max(CENT, (price * Decimal(rng.uniform(0.75, 0.95))).quantize(CENT))
                watched_at = now - timedelta(days=rng.uniform(1, 60))
                rows.append((user_id, listing_id, threshold, False, watched_at, price, price, price))
                made += 1
            if len(rows) >= CREATE_BATCH:
                self._insert_items(rows)
                rows = []
        self._insert_items(rows)
        return made

    def _insert_items(self, rows: list[tuple]) -> None:
        columns = (
            "user_id",
            "listing_id",
            "price_threshold",
            "alert_sent",
            "created_at",
            "added_price",
            "lowest_price",
            "reference_price",
        )
        if not rows:
            return
        if connection.vendor == "postgresql":
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {WatchlistItem._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            WatchlistItem.objects.bulk_create(WatchlistItem(**dict(zip(columns, row, strict=True))) for row in rows)

    def _reprice(self, listing_ids: list[int], count: int, rng: random.Random, now) -> list[int]:
        """Change `count` watched listings' prices as ingestion would; their ids in arrival order."""
        chosen = rng.sample(listing_ids, min(count, len(listing_ids)))
        prices = dict(Listing.objects.filter(id__in=chosen).values_list("id", "price"))
        rows = []
        for listing_id in chosen:
            price = prices[listing_id]
            roll = rng.random()
            if roll < 0.4:  # a real drop
                new = price * Decimal(1 - rng.uniform(0.05, 0.30))
            elif roll < 0.7:  # a nudge
                new = price - CENT if rng.random() < 0.5 else price * Decimal(1 - rng.uniform(0.001, 0.008))
            else:  # a rise
                new = price * Decimal(1 + rng.uniform(0.02, 0.15))
            rows.append({"id": listing_id, "price": max(CENT, new.quantize(CENT))})
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            with transaction.atomic():
                update_rows(Listing, chunk, ("price",))
                PricePoint.objects.bulk_create(
                    PricePoint(listing_id=row["id"], price=row["price"], recorded_at=now) for row in chunk
                )
        return chosen

    def _analyze(self) -> None:
        """Planner statistics as a live database would have them after a bulk load."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for model in (User, NotificationPreferences, WatchlistItem, Listing, PricePoint):
                cursor.execute(f"ANALYZE {model._meta.db_table}")  # in a transaction too (the tests)

    def _clean(self, run: str) -> None:
        """Raw deletes: the ORM would load every row to cascade."""
        users = f"SELECT id FROM {User._meta.db_table} WHERE email LIKE %s"
        pattern = [f"{PREFIX}-{run}-%"]
        with connection.cursor() as cursor:
            for model in (WatchlistItem, NotificationPreferences):
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE user_id IN ({users})", pattern)
            cursor.execute(f"DELETE FROM {User._meta.db_table} WHERE email LIKE %s", pattern)
        Listing.objects.filter(external_id__startswith=f"{PREFIX}-{run}-").delete()
