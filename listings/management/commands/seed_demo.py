import random
from collections import defaultdict
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from listings.demo import generate, reprice
from listings.ingest import ingest_listings
from listings.models import Listing
from listings.scoring import refresh_price_benchmarks, rescore_listings
from listings.validation import category_ids_by_slug, parse_listing

DEMO_EMAIL = "demo@dealalerts.local"
DEMO_PASSWORD = "deals-demo-2026"
ADMIN_EMAIL = "admin@dealalerts.local"
ADMIN_PASSWORD = "admin-demo-2026"


class Command(BaseCommand):
    help = "Load demo users and a month of realistic listings with price history (deterministic per --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--listings", type=int, default=3000)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--force", action="store_true", help="Seed again even if demo listings exist.")

    def handle(self, listings: int, days: int, seed: int, force: bool, **options):
        if not force and Listing.objects.filter(external_id__startswith="demo-").exists():
            self.stdout.write("Demo data already loaded; use --force to load it again.")
            return
        self._users()
        created = self._replay(listings, days, seed)
        refresh_price_benchmarks()
        rescored = rescore_listings().changed
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {created} demo listings over {days} days ({rescored} scored). "
                f"Log in as {DEMO_EMAIL} / {DEMO_PASSWORD}; admin: {ADMIN_EMAIL} / {ADMIN_PASSWORD}."
            )
        )

    def _users(self) -> None:
        demo, _ = User.objects.get_or_create(
            email=DEMO_EMAIL, defaults={"first_name": "Dana", "time_zone": "America/Los_Angeles", "home_zip": "94103"}
        )
        admin, _ = User.objects.get_or_create(email=ADMIN_EMAIL, defaults={"is_staff": True, "is_superuser": True})
        for user, password in ((demo, DEMO_PASSWORD), (admin, ADMIN_PASSWORD)):
            user.set_password(password)
            user.email_confirmed_at = user.email_confirmed_at or timezone.now()  # demo addresses need no link
            user.save()

    def _replay(self, count: int, days: int, seed: int) -> int:
        """Feed a month of listings through the ingestion service day by day, so history is real."""
        rng = random.Random(seed)
        now = timezone.now().replace(microsecond=0)
        start = now - timedelta(days=days)
        by_day: dict[int, list] = defaultdict(list)
        for item in generate(seed, count):
            by_day[rng.randrange(days + 1)].append(item)
        category_ids = category_ids_by_slug()
        live: list = []
        total = 0
        for day in range(days + 1):
            when = min(now, start + timedelta(days=day, hours=rng.randrange(8, 20)))
            batch = {}
            for item in by_day[day]:
                batch[(item.raw["source"], item.raw["external_id"])] = item
            for index in rng.sample(range(len(live)), k=min(len(live), max(1, len(live) // 12))):
                live[index] = reprice(rng, live[index])
                batch[(live[index].raw["source"], live[index].raw["external_id"])] = live[index]
            for index in rng.sample(range(len(live)), k=min(len(live), len(live) // 60)):
                sold = live[index]
                batch[(sold.raw["source"], sold.raw["external_id"])] = type(sold)(
                    raw={**sold.raw, "is_active": False}, typical=sold.typical
                )
            inputs = []
            for item in batch.values():
                parsed, errors = parse_listing(item.raw, category_ids)
                assert not errors, errors
                inputs.append(parsed)
            with transaction.atomic():
                for start_at in range(0, len(inputs), 1000):
                    ingest_listings(inputs[start_at : start_at + 1000], now=when, announce=False)
            live.extend(by_day[day])
            total += len(by_day[day])
        return total
