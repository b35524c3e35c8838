"""bench_recommendations end to end with tiny numbers: seeds what it needs and prints one JSON object."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from listings.models import Listing
from recommendations import services

pytestmark = pytest.mark.django_db


def test_the_bench_seeds_times_and_reports_constant_queries_per_batch(monkeypatch):
    # Batches of 5 so that 20 shoppers make four timed batches whose query counts can be compared.
    monkeypatch.setattr(services, "BATCH_SIZE", 5)
    out = StringIO()

    call_command("bench_recommendations", users=20, listings=300, on_request=5, stdout=out, stderr=StringIO())

    report = json.loads(out.getvalue())
    assert {"users", "users_per_s", "queries_per_batch", "p99_ms_on_request"} <= set(report)
    assert {"batch_size", "candidates", "warmup_s", "p50_ms_on_request", "queries_constant"} <= set(report)
    assert report["users"] == 20 and report["batches"] == 4 and report["batch_size"] == 5
    assert User.objects.filter(email__startswith="bench-").count() == 20
    assert report["users_per_s"] > 0 and report["queries_per_batch"] > 0
    assert report["queries_constant"] is True
    assert 0 < report["p50_ms_on_request"] <= report["p99_ms_on_request"]
    assert report["candidates"] > 0 and report["listings"] >= 300


def test_the_bench_reuses_its_shoppers_and_listings(monkeypatch):
    call_command("bench_recommendations", users=10, listings=200, on_request=2, stdout=StringIO(), stderr=StringIO())
    listings = Listing.objects.count()
    out = StringIO()

    call_command("bench_recommendations", users=10, listings=200, on_request=2, stdout=out, stderr=StringIO())

    assert json.loads(out.getvalue())["users"] == 10
    assert User.objects.filter(email__startswith="bench-").count() == 10
    assert Listing.objects.count() == listings
