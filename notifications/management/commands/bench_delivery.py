"""Measure email delivery through a real Celery worker to a local Postmark sink; prints one JSON line.

The outbox rows are written as `notify` writes them (pending email deliveries with their
dedup keys) but in bulk and without enqueueing; the clock runs from `delivery.enqueue` until
no row is pending or sending. The sink counts what it accepted per dedup key, so the result
says whether anything was sent twice or not at all.
"""

import json
import math
import time
import uuid
from contextlib import ExitStack
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from accounts.models import User
from listings.models import Category, Listing
from notifications import delivery
from notifications.models import Delivery, DeliveryStatus, Kind, Notification, NotificationPreferences
from peers.processes import celery_worker, postmark_sink, worker_env

PREFIX = "bench-delivery"
CREATE_BATCH = 2000
UNSETTLED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class Command(BaseCommand):
    help = "Deliver N emails through a real Celery worker to a local Postmark sink; prints throughput as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--deliveries", type=int, default=20000)
        parser.add_argument("--users", type=int, default=1000)
        parser.add_argument("--worker-concurrency", type=int, default=1, help="Pool processes (or threads).")
        parser.add_argument(
            "--worker-pool",
            choices=["prefork", "threads"],
            default="prefork",
            help="threads: one worker process sending concurrently (delivery is I/O-bound).",
        )
        parser.add_argument("--timeout", type=float, default=900, help="Give up after this many seconds.")

    def handle(self, deliveries: int, users: int, worker_concurrency: int, worker_pool: str, timeout: float, **options):
        run = f"{PREFIX}-{uuid.uuid4().hex[:8]}"
        with ExitStack() as cleanup:  # unwinds in reverse: worker, rows, sink
            sink = cleanup.enter_context(postmark_sink())
            cleanup.callback(delete_rows, run)
            rows = create_deliveries(run, deliveries, min(users, deliveries))
            cleanup.enter_context(celery_worker(worker_env(sink.url), concurrency=worker_concurrency, pool=worker_pool))

            started = time.perf_counter()
            delivery.enqueue(rows)
            wait_settled(run, timeout)
            elapsed = time.perf_counter() - started

            by_key = sink.stats()["by_key"]
            statuses = dict(Delivery.objects.filter(pk__in=[r.pk for r in rows]).values_list("dedup_key", "status"))
        lost = sum(1 for r in rows if by_key.get(r.dedup_key, 0) < 1 or statuses.get(r.dedup_key) != "sent")
        self.stdout.write(
            json.dumps(
                {
                    "deliveries": deliveries,
                    "per_s": round(deliveries / elapsed),
                    "duplicates": sum(count - 1 for count in by_key.values() if count > 1),
                    "lost": lost,
                    "worker_processes": worker_concurrency if worker_pool == "prefork" else 1,
                    "pool": f"{worker_pool} x{worker_concurrency}",
                    "database": connection.vendor,
                }
            )
        )


def create_deliveries(run: str, count: int, users: int) -> list[Delivery]:
    """`users` users, enough listings that each user has one notification per listing, `count` pending emails."""
    if count < 1:
        raise CommandError("--deliveries must be at least 1")
    now = timezone.now()
    password = make_password(None)  # unusable, and hashed once
    people = User.objects.bulk_create(
        [
            User(email=f"{run}-{i}@dealalerts.local", password=password, email_confirmed_at=timezone.now())
            for i in range(users)
        ],
        batch_size=CREATE_BATCH,
    )
    NotificationPreferences.objects.bulk_create([NotificationPreferences(user=u) for u in people])
    laptops = Category.objects.get(slug="laptops")
    listings = Listing.objects.bulk_create(
        [
            Listing(
                source="craigslist",
                external_id=f"{run}-{j}",
                url=f"https://sfbay.craigslist.org/{run}-{j}.html",
                title=f"Lenovo ThinkPad T14 laptop #{j}",
                price=Decimal("300.00"),
                category=laptops,
                zip_code="94103",
                first_seen_at=now,
                last_seen_at=now,
                deal_score=0.7,
            )
            for j in range(math.ceil(count / users))
        ]
    )
    source = {"kind": "rule", "id": 1, "name": "Cheap ThinkPads", "why": "mentions “thinkpad”, $300 is at most $500"}
    pairs = [(user, listing) for listing in listings for user in people][:count]
    notifications = Notification.objects.bulk_create(
        [
            Notification(
                user=user,
                kind=Kind.DEAL_MATCH,
                listing=listing,
                local_day=now.date(),
                sources=[source],
                counts_toward_cap=True,
                reason="bench",
                created_at=now,
            )
            for user, listing in pairs
        ],
        batch_size=CREATE_BATCH,
    )
    return Delivery.objects.bulk_create(
        [
            Delivery(
                notification=n,
                channel="email",
                status=DeliveryStatus.PENDING,
                dedup_key=delivery.dedup_key(n.id, "email"),
                created_at=now,
            )
            for n in notifications
        ],
        batch_size=CREATE_BATCH,
    )


def wait_settled(run: str, timeout: float) -> None:
    unsettled = Delivery.objects.filter(notification__user__email__startswith=run, status__in=UNSETTLED)
    deadline = time.monotonic() + timeout
    while unsettled.exists():
        if time.monotonic() > deadline:
            raise CommandError(f"{unsettled.count()} deliveries still unsettled after {timeout:.0f} s")
        time.sleep(0.2)


def delete_rows(run: str) -> None:
    """Everything the run created; notifications, deliveries and preferences go with their users."""
    Delivery.objects.filter(notification__user__email__startswith=run).delete()
    Notification.objects.filter(user__email__startswith=run).delete()
    User.objects.filter(email__startswith=run).delete()
    Listing.objects.filter(external_id__startswith=run).delete()
