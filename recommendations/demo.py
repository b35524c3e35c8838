"""Demo shoppers with tastes, so recommendations have real histories to learn from and be judged on.

Each shopper gets a hidden taste drawn from a seeded RNG — one to three favourite categories (often
neighbours, like laptops and monitors), a few favourite brand and model words from those categories'
titles, a budget or premium lean, and how much deals and distance matter to them — and then lives
the last `days` days: on some days a session of a few views among the listings active at that
moment, chosen with a probability that grows with the taste match, the deal and the nearness, plus a
quarter of plain exploration. Some views become watches, a few purchases, and now and then a listing
outside their taste is dismissed. The taste itself is never stored: the database holds only what the
shopper did, as it would for a real one, so an evaluation cannot peek.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.geo import lookup_zip
from accounts.models import User
from listings.models import Category, Listing, ListingView
from listings.text import key_words
from watchlist.models import WatchlistItem

from .models import Dismissal, Purchase

EXPLORATION = 0.25
WATCH_CHANCE, PURCHASE_CHANCE, DISMISS_CHANCE = 0.08, 0.015, 0.12  # per view, per view, per session


@dataclass
class _Catalogue:
    """The listings, as arrays the simulation draws from."""

    ids: np.ndarray
    categories: np.ndarray
    parents: np.ndarray
    prices: np.ndarray
    deals: np.ndarray
    lats: np.ndarray
    lons: np.ndarray
    born: np.ndarray  # first seen, epoch seconds
    gone: np.ndarray  # deactivated, epoch seconds (inf while active)
    zips: list[str]
    words: dict[str, np.ndarray]  # word → listing rows with it in the title
    category_words: dict[int, list[str]]
    category_median: dict[int, float]

    @classmethod
    def load(cls) -> "_Catalogue":
        rows = list(
            Listing.objects.values_list(
                "id",
                "category_id",
                "category__parent_id",
                "price",
                "deal_score",
                "latitude",
                "longitude",
                "first_seen_at",
                "deactivated_at",
                "zip_code",
                "title",
            ).order_by("id")
        )
        words: dict[str, list[int]] = {}
        category_words: dict[int, dict[str, int]] = {}
        for row, values in enumerate(rows):
            for word in set(key_words(values[10])):
                if not word.isdigit() and len(word) > 2:
                    words.setdefault(word, []).append(row)
                    counts = category_words.setdefault(values[1], {})
                    counts[word] = counts.get(word, 0) + 1
        categories = np.array([r[1] for r in rows], dtype=np.int64)
        prices = np.array([float(r[3]) for r in rows])
        return cls(
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            categories=categories,
            parents=np.array([r[2] or 0 for r in rows], dtype=np.int64),
            prices=prices,
            deals=np.array([0.5 if r[4] is None else r[4] for r in rows]),
            lats=np.array([np.nan if r[5] is None else r[5] for r in rows]),
            lons=np.array([np.nan if r[6] is None else r[6] for r in rows]),
            born=np.array([r[7].timestamp() for r in rows]),
            gone=np.array([r[8].timestamp() if r[8] else math.inf for r in rows]),
            zips=[r[9] for r in rows],
            words={word: np.array(found, dtype=np.int64) for word, found in words.items()},
            # A category's brand and model words: those in a few of its titles, not in nearly all.
            category_words={
                category: [w for w, n in counts.items() if 2 <= n <= 0.6 * (categories == category).sum()]
                for category, counts in category_words.items()
            },
            category_median={int(c): float(np.median(prices[categories == c])) for c in np.unique(categories)},
        )


def _taste_weights(rng: np.random.Generator, catalogue: _Catalogue, favourites: list[int] | None = None):
    """One hidden taste, as a weight per listing (before availability), and a home listing row."""
    cats, counts = np.unique(catalogue.categories, return_counts=True)
    if favourites is None:
        first = int(rng.choice(cats, p=counts / counts.sum()))
        favourites = [first]
        parent = catalogue.parents[catalogue.categories == first][0]
        siblings = [int(c) for c in np.unique(catalogue.categories[catalogue.parents == parent]) if c != first]
        for chance in (0.6, 0.3):
            if rng.random() < chance:
                pool = siblings if siblings and rng.random() < 0.7 else [int(c) for c in cats if c not in favourites]
                if pool:
                    favourites.append(int(rng.choice(pool)))
    weight = np.full(len(catalogue.ids), 0.01)
    for rank, category in enumerate(favourites):
        weight[catalogue.categories == category] = 1.0 / (1 + 0.5 * rank)
    favourite_words = []
    for category in favourites:
        options = catalogue.category_words.get(category, [])
        if options:
            favourite_words += list(rng.choice(options, size=min(2, len(options)), replace=False))
    for word in favourite_words:
        weight[catalogue.words.get(word, [])] *= 3.0
    lean = rng.choice(["budget", "premium", "any"], p=[0.4, 0.2, 0.4])
    if lean != "any":
        medians = np.array([catalogue.category_median[int(c)] for c in catalogue.categories])
        cheaper = catalogue.prices < medians
        weight *= np.where(cheaper == (lean == "budget"), 1.5, 0.6)
    weight *= np.exp(rng.uniform(0.5, 2.5) * (catalogue.deals - 0.5))
    in_taste = np.flatnonzero(np.isin(catalogue.categories, favourites))
    home = int(rng.choice(in_taste)) if len(in_taste) else int(rng.integers(len(catalogue.ids)))
    if not np.isnan(catalogue.lats[home]):
        miles = 69.0 * np.hypot(
            catalogue.lats - catalogue.lats[home],
            (catalogue.lons - catalogue.lons[home]) * math.cos(math.radians(catalogue.lats[home])),
        )
        weight *= 1.0 / (1.0 + np.nan_to_num(miles, nan=3000.0) / rng.uniform(50, 2000))
    return weight, favourites, home


def _live(
    user: User,
    rng: np.random.Generator,
    catalogue: _Catalogue,
    weight: np.ndarray,
    favourites: list[int],
    start: datetime,
    days: int,
    rows: dict[str, list],
) -> None:
    """One shopper's `days` of sessions, appended to `rows` as unsaved model instances."""
    activity = rng.uniform(0.15, 0.7)
    watched: set[int] = set()
    for day in range(days):
        if rng.random() > activity:
            continue
        when = start + timedelta(days=day, hours=float(rng.uniform(7, 23)))
        moment = when.timestamp()
        live = (catalogue.born <= moment) & (catalogue.gone > moment)
        available = np.flatnonzero(live)
        if not len(available):
            continue
        chances = weight[available]
        chances = (1 - EXPLORATION) * chances / chances.sum() + EXPLORATION / len(available)
        size = min(len(available), int(rng.integers(2, 9)))
        for offset, row in enumerate(rng.choice(available, size=size, replace=False, p=chances)):
            at = when + timedelta(minutes=2 * offset)
            listing_id = int(catalogue.ids[row])
            rows["views"].append(ListingView(user=user, listing_id=listing_id, viewed_at=at))
            liked = catalogue.categories[row] in favourites
            if liked and listing_id not in watched and rng.random() < WATCH_CHANCE:
                watched.add(listing_id)
                price = catalogue.prices[row]
                rows["watches"].append(
                    WatchlistItem(
                        user=user,
                        listing_id=listing_id,
                        created_at=at,
                        added_price=price,
                        lowest_price=price,
                        reference_price=price,
                    )
                )
            elif liked and rng.random() < PURCHASE_CHANCE:
                rows["purchases"].append(Purchase(user=user, listing_id=listing_id, created_at=at))
        if rng.random() < DISMISS_CHANCE:
            outside = available[~np.isin(catalogue.categories[available], favourites)]
            if len(outside):
                rows["dismissals"].append(
                    Dismissal(user=user, listing_id=int(catalogue.ids[rng.choice(outside)]), created_at=when)
                )


def _save(rows: dict[str, list]) -> None:
    ListingView.objects.bulk_create(rows["views"], batch_size=5000)
    WatchlistItem.objects.bulk_create(rows["watches"], batch_size=5000, ignore_conflicts=True)
    Purchase.objects.bulk_create(rows["purchases"], batch_size=5000, ignore_conflicts=True)
    Dismissal.objects.bulk_create(rows["dismissals"], batch_size=5000, ignore_conflicts=True)


def _empty() -> dict[str, list]:
    return {"views": [], "watches": [], "purchases": [], "dismissals": []}


def seed_shoppers(
    count: int, *, seed: int = 7, days: int = 30, now: datetime | None = None, prefix: str = "shopper"
) -> int:
    """Create the shoppers `{prefix}-NNNN@dealalerts.local` that do not exist yet, each with a hidden
    taste and `days` of history over the listings in the database; how many were created."""
    now = now or timezone.now()
    emails = [f"{prefix}-{n:04d}@dealalerts.local" for n in range(1, count + 1)]
    existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
    missing = [(n, email) for n, email in enumerate(emails, start=1) if email not in existing]
    if not missing or not Listing.objects.exists():
        return 0
    catalogue = _Catalogue.load()
    unusable = make_password(None)
    created = 0
    for start in range(0, len(missing), 1000):
        chunk = missing[start : start + 1000]
        tastes, users = [], []
        for n, email in chunk:
            rng = np.random.default_rng([seed, n])
            weight, favourites, home = _taste_weights(rng, catalogue)
            place = lookup_zip(catalogue.zips[home])
            users.append(
                User(
                    email=email,
                    password=unusable,
                    home_zip=catalogue.zips[home],
                    time_zone=(place.time_zone if place and place.time_zone else "America/New_York"),
                    date_joined=now - timedelta(days=days),
                )
            )
            tastes.append((rng, weight, favourites))
        with transaction.atomic():
            User.objects.bulk_create(users)
            saved = dict(User.objects.filter(email__in=[u.email for u in users]).values_list("email", "id"))
            rows = _empty()
            for user, (rng, weight, favourites) in zip(users, tastes, strict=True):
                user.id = saved[user.email]
                _live(user, rng, catalogue, weight, favourites, now - timedelta(days=days), days, rows)
            _save(rows)
        created += len(chunk)
    return created


def seed_history(
    user: User, category_slugs: list[str], *, seed: int = 7, days: int = 30, now: datetime | None = None
) -> int:
    """Give one existing user (the demo shopper) a history with the taste `category_slugs`, once."""
    if ListingView.objects.filter(user=user).exists():
        return 0
    now = now or timezone.now()
    catalogue = _Catalogue.load()
    if not len(catalogue.ids):
        return 0
    ids = dict(Category.objects.filter(slug__in=category_slugs).values_list("slug", "id"))
    favourites = [ids[slug] for slug in category_slugs if slug in ids]
    rng = np.random.default_rng([seed, 0])
    weight, favourites, _ = _taste_weights(rng, catalogue, favourites)
    rows = _empty()
    with transaction.atomic():
        _live(user, rng, catalogue, weight, favourites, now - timedelta(days=days), days, rows)
        # The demo shopper is a keen one: a session on most days, so their page has plenty to say.
        _live(user, rng, catalogue, weight, favourites, now - timedelta(days=days), days, rows)
        _save(rows)
    return len(rows["views"])
