"""The matching benchmark, at toy size: it reports what it promises, agrees with brute force, cleans up."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from alerts.models import DealAlertRule
from listings.models import Listing

pytestmark = pytest.mark.django_db

KEYS = {
    "rules",
    "listings",
    "matches",
    "matches_per_listing",
    "listings_per_s",
    "naive_listings_per_s",
    "speedup",
    "equal",
    "equal_checked_listings",
    "index_build_s",
    "rss_mb",
    "naive_sampled_rules",
    "naive_sampled_listings",
    "naive_extrapolated_to_rules",
    "database",
}

FIELDS = ("name", "keywords", "exclude_keywords", "categories", "max_price", "location", "radius_mi", "enabled")


def bench(*args: str) -> dict:
    out = StringIO()
    call_command("bench_matching", "--rules", "300", "--listings", "50", "--naive-rules", "20", *args, stdout=out)
    return json.loads(out.getvalue())


def test_reports_the_index_equal_to_brute_force_and_cleans_up():
    report = bench()
    assert report.keys() >= KEYS
    assert report["equal"] is True
    assert report["rules"] == 300 and report["listings"] == 50
    assert report["equal_checked_listings"] == 50  # few enough to check them all
    assert report["naive_sampled_rules"] == 20 and report["naive_extrapolated_to_rules"] == report["enabled_rules"]
    assert report["matches"] > 0 and report["listings_per_s"] > 0 and report["speedup"] > 0
    assert not DealAlertRule.objects.exists()
    assert not User.objects.filter(email__startswith="bench-match-").exists()
    assert not Listing.objects.filter(external_id__startswith="bench-match-").exists()


def test_the_same_seed_generates_the_same_rules_and_keep_keeps_them():
    first = bench("--keep", "--seed", "5")
    kept = list(DealAlertRule.objects.order_by("id").values_list(*FIELDS))
    assert len(kept) == 300 and User.objects.filter(email__startswith="bench-match-").count() == 30
    DealAlertRule.objects.all().delete()
    second = bench("--keep", "--seed", "5")
    again = list(DealAlertRule.objects.order_by("id").values_list(*FIELDS))
    assert again == kept
    assert first["matches"] == second["matches"]
