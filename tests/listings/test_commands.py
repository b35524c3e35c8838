import csv
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from listings.models import Listing, PricePoint
from tests.factories import raw_listing

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_jsonl_reports_bad_lines_by_number_and_imports_the_rest(tmp_path):
    path = tmp_path / "feed.jsonl"
    lines = [
        json.dumps(raw_listing(external_id="1")),
        json.dumps(raw_listing(external_id="2", price="-5")),
        "{not json",
        json.dumps(raw_listing(external_id="3", zip_code="00000")),
        json.dumps(raw_listing(external_id="4")),
    ]
    path.write_text("\n".join(lines) + "\n")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="3 bad line"):
        call_command("import_listings", str(path), "--no-progress", stdout=out, stderr=err)
    assert "line 2: price: Must be zero or more." in err.getvalue()
    assert "line 3: line: Not valid JSON" in err.getvalue()
    assert "line 4: zip_code:" in err.getvalue()
    assert "Read 5 listings: 2 created" in out.getvalue()
    assert set(Listing.objects.values_list("external_id", flat=True)) == {"1", "4"}


def test_import_jsonl_reports_json_it_cannot_store_as_bad_lines(tmp_path):
    """A lone surrogate (no UTF-8 form) or NaN is a bad line, named by number, never a crash."""
    path = tmp_path / "feed.jsonl"
    good = json.dumps(raw_listing(external_id="1"))
    path.write_text("\n".join([good, '{"title": "\\ud800"}', '{"price": NaN}']) + "\n")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="2 bad line"):
        call_command("import_listings", str(path), "--no-progress", stdout=out, stderr=err)
    assert "line 2: line: Not valid JSON" in err.getvalue() and "line 3: line: Not valid JSON" in err.getvalue()
    assert list(Listing.objects.values_list("external_id", flat=True)) == ["1"]


def test_import_csv_and_reimport_is_unchanged(tmp_path):
    path = tmp_path / "feed.csv"
    fields = ["source", "external_id", "url", "title", "price", "category", "zip_code", "deal_score", "is_active"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for i in range(3):
            writer.writerow(
                {k: v for k, v in raw_listing(external_id=str(i)).items() if k in fields}
                | {"deal_score": "", "is_active": "true"}
            )
    out, _ = run("import_listings", str(path), "--no-progress")
    assert "3 created" in out
    out, _ = run("import_listings", str(path), "--no-progress")
    assert "0 created, 0 updated, 0 re-priced, 3 unchanged, 0 bad" in out
    assert PricePoint.objects.count() == 3


def test_import_csv_bad_row_names_its_line(tmp_path):
    path = tmp_path / "feed.csv"
    path.write_text(
        "source,external_id,url,title,price,category,zip_code\n"
        "ebay,1,https://www.ebay.com/itm/1,Bike,100,bikes,94103\n"
        "ebay,2,https://www.ebay.com/itm/2,Bike,lots,bikes,94103\n"
    )
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_listings", str(path), "--no-progress", stdout=StringIO(), stderr=err)
    assert "line 3: price:" in err.getvalue()
    assert Listing.objects.count() == 1


def test_import_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("import_listings", str(tmp_path / "nope.jsonl"))


def test_seed_demo_is_deterministic_and_loads_once():
    run("seed_demo", "--listings", "200", "--days", "5", "--seed", "3")
    first = list(Listing.objects.order_by("external_id").values_list("external_id", "title", "price", "is_active"))
    out, _ = run("seed_demo", "--listings", "200", "--days", "5", "--seed", "3")
    assert "already loaded" in out

    Listing.objects.all().delete()
    run("seed_demo", "--listings", "200", "--days", "5", "--seed", "3")
    again = list(Listing.objects.order_by("external_id").values_list("external_id", "title", "price", "is_active"))
    assert again == first and len(first) == 200
    assert PricePoint.objects.count() > 200  # some listings were re-priced along the way
    assert Listing.objects.filter(deal_score__isnull=False).exists()


def test_simulate_feed_posts_new_and_repriced_listings():
    out, _ = run("simulate_feed", "--rate", "20", "--count", "40", "--seed", "1", "--reprice-share", "0.5")
    assert "Posted 40 listings." in out
    assert 0 < Listing.objects.count() < 40  # some of the 40 were re-prices of earlier ones
    assert PricePoint.objects.count() > Listing.objects.count()


def test_bench_ingest_prints_json():
    out, _ = run("bench_ingest", "--listings", "300", "--batch", "100")
    result = json.loads(out)
    assert result["listings"] == 300 and result["cli_listings_per_s"] > 0 and result["api_listings_per_s"] > 0
    assert result["queries_per_batch"] <= 11
    assert Listing.objects.count() == 0  # it cleans up after itself
