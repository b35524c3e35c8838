"""The watchlist benchmark, at toy size: it reports what it promises, finds drops, and cleans up."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from listings.models import Listing
from notifications.models import Notification
from watchlist.models import WatchlistItem

pytestmark = pytest.mark.django_db

KEYS = {"items", "repriced", "alerts", "ms_per_batch_of_1000", "queries_per_batch", "queries_per_batch_constant"}


def bench(*args: str) -> dict:
    out = StringIO()
    # Small batches: SQLite splits a bulk insert by its parameter limit, so only batches with few
    # notifications keep the count the same there (PostgreSQL inserts any number in one statement).
    call_command(
        "bench_watchlist", "--items", "600", "--repriced", "150", "--watchers", "2", "--batch", "50", *args, stdout=out
    )
    return json.loads(out.getvalue())


def test_reports_constant_queries_per_batch_finds_drops_and_cleans_up():
    report = bench()
    assert report.keys() >= KEYS
    assert (report["items"], report["repriced"], report["batch"], report["batches"]) == (600, 150, 50, 3)
    assert report["alerts"] > 0 and report["watchers_checked"] > 150
    assert report["queries_per_batch_constant"] is True and report["queries_per_batch"] >= 3
    assert report["ms_per_batch_of_1000"] > 0
    assert not WatchlistItem.objects.exists() and not Notification.objects.exists()  # rolled back
    assert not User.objects.filter(email__startswith="bench-watch-").exists()
    assert not Listing.objects.filter(external_id__startswith="bench-watch-").exists()


def test_the_same_seed_gives_the_same_alerts():
    assert bench("--seed", "3")["alerts"] == bench("--seed", "3")["alerts"]
