"""Deal score: how far a price sits below what comparable listings ask.

    comparables = active listings in the same category that share the first word
                  of the title (sellers lead with brand and model) that at least
                  MIN_COMPARABLES listings share; fallback: the whole category
    discount    = (median - price) / median
    score       = clamp(0.5 + discount, 0, 1), rounded to 2 places

So a price at the median scores 0.50, 30% below scores 0.80, half price or
less scores 1.00, and 50% or more above scores 0. Medians come from the
PriceBenchmark table, refreshed by `refresh_price_benchmarks`.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from .models import Listing, PriceBenchmark
from .text import key_words

MIN_COMPARABLES = 5
NOT_ENOUGH = "Not enough similar listings yet to judge this price."


@dataclass(frozen=True, slots=True)
class Benchmark:
    category_id: int
    word: str
    median_price: Decimal
    sample_size: int
    category_name: str = ""


def pick_benchmark(
    category_id: int, title_words: list[str], benchmarks: dict[tuple[int, str], Benchmark]
) -> Benchmark | None:
    """The benchmark of the title's first word that has one, else the whole category's."""
    for word in title_words:
        if (benchmark := benchmarks.get((category_id, word))) is not None:
            return benchmark
    return benchmarks.get((category_id, ""))


def score_price(price: Decimal, benchmark: Benchmark | None) -> tuple[float | None, str]:
    """(score, plain-words explanation) for `price` against a benchmark."""
    if price == 0:
        return 1.0, "Free."
    if benchmark is None or benchmark.median_price <= 0:
        return None, NOT_ENOUGH
    median = benchmark.median_price
    discount = (median - price) / median
    score = float(max(Decimal(0), min(Decimal(1), Decimal("0.5") + discount)).quantize(Decimal("0.01")))
    percent = int((abs(discount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    similar = f'similar listings mentioning "{benchmark.word}"' if benchmark.word else "similar listings"
    if benchmark.category_name:
        similar += f" in {benchmark.category_name}"
    where = f"the median ${median:,.0f} of {benchmark.sample_size} {similar}"
    if percent == 0:
        return score, f"At {where}."
    direction = "below" if discount > 0 else "above"
    return score, f"{percent}% {direction} {where}."


def load_benchmarks(category_ids: set[int], title_words: set[str]) -> dict[tuple[int, str], Benchmark]:
    """The benchmarks a batch can use, with their category's name for the explanation, in one query."""
    rows = PriceBenchmark.objects.filter(category_id__in=category_ids, word__in=title_words | {""}).values_list(
        "category_id", "word", "median_price", "sample_size", "category__name"
    )
    return {(c, w): Benchmark(c, w, m, n, name) for c, w, m, n, name in rows}


def refresh_price_benchmarks(now: datetime | None = None) -> int:
    """Recompute every benchmark from the active listings; returns how many were stored."""
    now = now or timezone.now()
    prices: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    rows = Listing.objects.filter(is_active=True, price__gt=0).values_list("category_id", "title", "price")
    for category_id, title, price in rows.iterator(chunk_size=5000):
        prices[(category_id, "")].append(price)
        for word in set(key_words(title)):
            if len(word) <= 60:
                prices[(category_id, word)].append(price)
    benchmarks = [
        PriceBenchmark(
            category_id=c,
            word=w,
            sample_size=len(values),
            computed_at=now,
            median_price=Decimal(statistics.median(values)).quantize(Decimal("0.01")),
        )
        for (c, w), values in prices.items()
        if len(values) >= MIN_COMPARABLES
    ]
    with transaction.atomic():
        PriceBenchmark.objects.all().delete()
        PriceBenchmark.objects.bulk_create(benchmarks, batch_size=2000)
    return len(benchmarks)


@dataclass(frozen=True)
class Rescored:
    changed: int
    raised: list[int]  # ids whose score went up: they may now pass a rule's minimum score


def rescore_listings(chunk_size: int = 2000) -> Rescored:
    """Re-score active listings whose score we computed, against the current benchmarks."""
    changed, raised = 0, []
    queryset = Listing.objects.filter(is_active=True, deal_score_is_computed=True).only(
        "id", "category_id", "title", "price", "deal_score", "deal_score_explanation"
    )
    ids = list(queryset.values_list("id", flat=True))
    for start in range(0, len(ids), chunk_size):
        listings = list(queryset.filter(id__in=ids[start : start + chunk_size]))
        benchmarks = load_benchmarks(
            {x.category_id for x in listings}, set().union(*(key_words(x.title) for x in listings))
        )
        dirty = []
        for listing in listings:
            benchmark = pick_benchmark(listing.category_id, key_words(listing.title), benchmarks)
            score, why = score_price(listing.price, benchmark)
            if (score, why) != (listing.deal_score, listing.deal_score_explanation):
                if score is not None and (listing.deal_score is None or score > listing.deal_score):
                    raised.append(listing.id)
                listing.deal_score, listing.deal_score_explanation = score, why
                dirty.append(listing)
        Listing.objects.bulk_update(dirty, ["deal_score", "deal_score_explanation"], batch_size=500)
        changed += len(dirty)
    return Rescored(changed, raised)
