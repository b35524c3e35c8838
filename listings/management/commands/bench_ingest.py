import json
import tempfile
import time
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from accounts.geo import lookup_zip
from accounts.models import User
from listings.demo import generate
from listings.importer import import_rows, read_rows
from listings.ingest import ingest_listings
from listings.models import Listing
from listings.validation import category_ids_by_slug, parse_listing


class Command(BaseCommand):
    help = "Measure ingestion through the CLI import path and through POST /api/listings; prints JSON."

    def add_arguments(self, parser):
        parser.add_argument("--listings", type=int, default=50000)
        parser.add_argument("--batch", type=int, default=1000)
        parser.add_argument("--keep", action="store_true", help="Keep the generated listings afterwards.")

    def handle(self, listings: int, batch: int, keep: bool, **options):
        run = uuid.uuid4().hex[:8]
        cli_items = [item.raw for item in generate(seed=1, count=listings, prefix=f"bench-cli-{run}")]
        api_items = [item.raw for item in generate(seed=2, count=listings, prefix=f"bench-api-{run}")]
        for raw in cli_items[::2] + api_items[::2]:
            raw.pop("deal_score", None)  # half the listings need a computed score
        for raw in cli_items[1::2] + api_items[1::2]:
            raw["deal_score"] = 0.5

        lookup_zip("94103")  # load the ZIP table (~1 s, once per process) outside the timings
        try:
            cli_rate = self._cli(cli_items, batch)
            api_rate = self._api(api_items, batch, run)
            queries = self._queries_per_batch(run, batch)
        finally:
            if not keep:
                Listing.objects.filter(external_id__startswith="bench-").filter(external_id__contains=run).delete()
                User.objects.filter(email=f"bench-{run}@dealalerts.local").delete()

        self.stdout.write(
            json.dumps(
                {
                    "listings": listings,
                    "cli_listings_per_s": round(cli_rate),
                    "api_listings_per_s": round(api_rate),
                    "queries_per_batch": queries,
                    "batch": batch,
                    "database": connection.vendor,
                }
            )
        )

    def _cli(self, items: list[dict], batch: int) -> float:
        """The import_listings path: read a JSON Lines file, validate, ingest in batches."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "listings.jsonl"
            path.write_text("".join(json.dumps(raw) + "\n" for raw in items))
            started = time.perf_counter()
            report = import_rows(read_rows(path), batch_size=batch)
            elapsed = time.perf_counter() - started
        assert not report.bad and len(report.result.created) == len(items), report.bad[:3]
        return len(items) / elapsed

    def _api(self, items: list[dict], batch: int, run: str) -> float:
        """POST /api/listings with a connector token, batches of `batch`, through the full Django stack."""
        user = User.objects.create_user(email=f"bench-{run}@dealalerts.local", is_staff=True)
        token = Token.objects.create(user=user)
        client = Client(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_HOST="localhost")
        bodies = [json.dumps(items[i : i + batch]) for i in range(0, len(items), batch)]
        started = time.perf_counter()
        for body in bodies:
            response = client.post("/api/listings", body, content_type="application/json")
            assert response.status_code == 200, response.content[:500]
        return len(items) / (time.perf_counter() - started)

    def _queries_per_batch(self, run: str, batch: int) -> int:
        """Queries for one batch of re-priced listings (the heaviest kind: upsert plus history)."""
        category_ids = category_ids_by_slug()
        raws = [item.raw for item in generate(seed=1, count=batch, prefix=f"bench-cli-{run}")]
        for raw in raws:
            raw["price"] = str(round(float(raw["price"]) + 1, 2))
        items = [parse_listing(raw, category_ids)[0] for raw in raws]
        with CaptureQueriesContext(connection) as ctx:
            ingest_listings(items)
        return len(ctx.captured_queries)
