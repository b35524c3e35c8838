"""bench_digest: compose and render every due digest for N users to a null email backend; prints JSON.

Each bench user wants a daily digest at 00:00 in one of a few time zones (so all are due whenever
the bench runs) and has `--deals` held notifications from the last hours. The timing covers finding
who is due, claiming each (user, period), gathering the deals, rendering subject, text and HTML with
inlined CSS, building the message and "sending" it to Django's dummy backend, and marking the
notifications digested. Queries are counted per batch of users, which must not vary.
"""

import json
import random
import time
import uuid
from datetime import time as wall_time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from accounts.models import User
from dealalerts.benchmarks import QueryCounter
from listings.demo import generate
from listings.ingest import ingest_listings
from listings.models import Listing
from listings.validation import category_ids_by_slug, parse_listing
from notifications import channels, digests
from notifications.models import Delivery, Digest, DigestStatus, Notification, NotificationPreferences
from notifications.tasks import send_digests

PREFIX = "bench-digest"
CREATE_BATCH = 5000
ZONES = ["America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York", "Pacific/Honolulu"]


class Command(BaseCommand):
    help = "Measure digest composition and rendering for N users (sent to a null backend); prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=100_000)
        parser.add_argument("--deals", type=int, default=3, help="Held notifications per user.")
        parser.add_argument("--listings", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--keep", action="store_true", help="Keep the generated data afterwards.")
        parser.add_argument(
            "--workers",
            type=int,
            default=0,
            help="0: run the batches in this process (and count their queries); N: through the beat task's "
            "fan-out to a real Celery worker with N processes.",
        )

    def handle(self, users: int, deals: int, listings: int, seed: int, keep: bool, workers: int, **options):
        run = uuid.uuid4().hex[:8]
        now = timezone.now()
        try:
            started = time.perf_counter()
            self._create(run, users, deals, listings, seed, now)
            self._analyze()
            setup_s = time.perf_counter() - started
            result = self._through_workers(users, workers) if workers else self._measure(now)
        finally:
            if not keep:
                self._clean(run)
        self.stdout.write(
            json.dumps({"users": users, **result, "setup_s": round(setup_s, 1), "database": connection.vendor})
        )

    def _measure(self, now) -> dict:
        counter = QueryCounter()
        per_batch: list[int] = []
        report = digests.DigestRun()
        with (
            override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
            connection.execute_wrapper(counter),
            channels.get("email").session(),
        ):
            started = time.perf_counter()
            due = digests.due_digests(now)
            digests.new_sources(now)  # once per tick, cached for the batches
            find_due_s = time.perf_counter() - started
            for start in range(0, len(due), digests.BATCH):
                before = counter.count
                digests.send_batch(due[start : start + digests.BATCH], now, report)
                per_batch.append(counter.count - before)
            elapsed = time.perf_counter() - started
        full_batches = per_batch[:-1] or per_batch
        return {
            "digests": report.sent,
            "users_per_s": round(len(due) / elapsed),
            "queries_per_batch": max(full_batches),
            "queries_per_batch_constant": min(per_batch) == max(per_batch),
            "batch": digests.BATCH,
            "batches": len(per_batch),
            "find_due_s": round(find_due_s, 2),
            "elapsed_s": round(elapsed, 2),
        }

    def _through_workers(self, users: int, workers: int) -> dict:
        """The production path: the tick task fans batches out to a Celery worker with `workers` processes."""
        from peers.processes import celery_worker, worker_env  # development tooling, imported only when asked for

        env = worker_env("http://127.0.0.1:9", EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
        with celery_worker(env, queues="notify,default", concurrency=workers):
            started = time.perf_counter()
            send_digests.delay()
            deadline = time.monotonic() + 3600
            while Digest.objects.filter(status=DigestStatus.SENT).count() < users:
                if time.monotonic() > deadline:
                    raise CommandError("the worker did not send every digest within an hour")
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
        return {
            "digests": Digest.objects.filter(status=DigestStatus.SENT).count(),
            "users_per_s": round(users / elapsed),
            "worker_processes": workers,
            "batch": digests.BATCH,
            "elapsed_s": round(elapsed, 2),
        }

    def _create(self, run: str, users: int, deals: int, listings: int, seed: int, now) -> None:
        rng = random.Random(seed)
        categories = category_ids_by_slug()
        items = [parse_listing(item.raw, categories)[0] for item in generate(seed, listings, prefix=f"{PREFIX}-{run}")]
        for start in range(0, len(items), 1000):
            ingest_listings(items[start : start + 1000], announce=False)
        listing_ids = list(
            Listing.objects.filter(external_id__startswith=f"{PREFIX}-{run}-").values_list("id", flat=True)
        )
        for start in range(0, users, CREATE_BATCH):
            User.objects.bulk_create(
                User(
                    email=f"{PREFIX}-{run}-{i}@dealalerts.local",
                    password="!",
                    time_zone=rng.choice(ZONES),
                    email_confirmed_at=timezone.now(),
                )
                for i in range(start, min(users, start + CREATE_BATCH))
            )
        user_ids = list(User.objects.filter(email__startswith=f"{PREFIX}-{run}-").values_list("id", flat=True))
        midnight = wall_time(0, 0)  # due all day long, in every zone
        for start in range(0, len(user_ids), CREATE_BATCH):
            chunk = user_ids[start : start + CREATE_BATCH]
            NotificationPreferences.objects.bulk_create(
                NotificationPreferences(user_id=uid, frequency="daily", digest_time=midnight) for uid in chunk
            )
            notifications = Notification.objects.bulk_create(
                Notification(
                    user_id=uid,
                    listing_id=listing_id,
                    local_day=now.date(),
                    sources=[{"kind": "rule", "id": 1, "name": "Bench rule", "why": "mentions “bench”"}],
                    reason="held for the digest: frequency is daily",
                    created_at=now - timedelta(hours=rng.randint(1, 20)),
                )
                for uid in chunk
                for listing_id in rng.sample(listing_ids, deals)
            )
            Delivery.objects.bulk_create(
                Delivery(
                    notification_id=n.id,
                    channel="email",
                    status="held",
                    reason=n.reason,
                    dedup_key=f"n{n.id}-email",
                    created_at=n.created_at,
                )
                for n in notifications
            )

    def _analyze(self) -> None:
        """Planner statistics as a live database would have them, not as earlier bench runs left them.

        After a bulk load autovacuum would analyze in time; we do it now. The digest table is
        vacuumed too: earlier runs deleted all their rows, and a table of empty pages analyzed as
        "no rows" makes the planner treat it as tiny however much it grows during the run.
        """
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for model in (User, NotificationPreferences, Notification, Delivery, Digest, Listing):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")

    def _clean(self, run: str) -> None:
        """Raw deletes: the ORM would load every row to cascade."""
        users = f"SELECT id FROM {User._meta.db_table} WHERE email LIKE %s"
        notifications = f"SELECT id FROM {Notification._meta.db_table} WHERE user_id IN ({users})"
        pattern = [f"{PREFIX}-{run}-%"]
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {Delivery._meta.db_table} WHERE notification_id IN ({notifications})", pattern)
            for model in (Notification, Digest, NotificationPreferences):
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE user_id IN ({users})", pattern)
            cursor.execute(f"DELETE FROM {User._meta.db_table} WHERE email LIKE %s", pattern)
        Listing.objects.filter(external_id__startswith=f"{PREFIX}-{run}-").delete()
