"""The whole recommender judged on the demo data, against two baselines that know the same things.

Each shopper's last week of views is held out. At the start of each held-out day every method ranks
the listings active at that moment that the shopper had not touched before the cutoff, knowing only
the signals before the cutoff; the listings the shopper viewed that day are what it should have
found. Metrics are averaged over (shopper, day) pairs with at least one such view.

- ours: `services.rank_listings` — the product's ranking (diversified, as shown, and undiversified);
- popularity: the most viewed listings before the cutoff, then the newest;
- same category, best deal: the shopper's most viewed categories first, each by deal score.

The demo generator's tastes are never stored, so nothing here can read them.
"""

from collections import Counter, defaultdict
from datetime import timedelta

from django.db.models import Max, Q

from listings.models import Listing, ListingView
from watchlist.models import WatchlistItem

from . import services
from .evaluation import ndcg_at_k, recall_at_k
from .models import Dismissal, Purchase

HELD_OUT = timedelta(days=7)
K_RANKED = 20


def demo_report() -> dict:
    latest = ListingView.objects.aggregate(latest=Max("viewed_at"))["latest"]
    if latest is None:
        return {"error": "no views: run make demo (seed_demo, then seed_demo_shoppers) first"}
    cutoff = latest - HELD_OUT
    touched: dict[int, set[int]] = defaultdict(set)
    categories_viewed: dict[int, Counter] = defaultdict(Counter)
    popularity: Counter = Counter()
    for user_id, listing_id, category_id in ListingView.objects.filter(viewed_at__lte=cutoff).values_list(
        "user_id", "listing_id", "listing__category_id"
    ):
        touched[user_id].add(listing_id)
        categories_viewed[user_id][category_id] += 1
        popularity[listing_id] += 1
    for model in (WatchlistItem, Purchase, Dismissal):
        for user_id, listing_id in model.objects.filter(created_at__lte=cutoff).values_list("user_id", "listing_id"):
            touched[user_id].add(listing_id)
    users = sorted(categories_viewed)
    methods = ("ours", "ours_as_shown", "popularity", "same_category_best_deal")
    ranked: dict[str, list[list[int]]] = {name: [] for name in methods}
    relevant: list[set[int]] = []
    days = 0
    for day in range(HELD_OUT.days):
        start = cutoff + timedelta(days=day)
        active = list(
            Listing.objects.filter(first_seen_at__lte=start)
            .filter(Q(deactivated_at__isnull=True) | Q(deactivated_at__gt=start))
            .values_list("id", "category_id", "deal_score", "first_seen_at")
        )
        active_ids = {row[0] for row in active}
        viewed: dict[int, set[int]] = defaultdict(set)
        for user_id, listing_id in ListingView.objects.filter(
            viewed_at__gt=start, viewed_at__lte=start + timedelta(days=1), user_id__in=users
        ).values_list("user_id", "listing_id"):
            if listing_id in active_ids and listing_id not in touched[user_id]:
                viewed[user_id].add(listing_id)
        pairs = [user_id for user_id in users if viewed[user_id]]
        if not pairs:
            continue
        days += 1
        by_popularity = [row[0] for row in sorted(active, key=lambda r: (-popularity[r[0]], -r[3].timestamp()))]
        by_category: dict[int, list[int]] = defaultdict(list)
        for row in sorted(active, key=lambda r: -(r[2] if r[2] is not None else -1)):
            by_category[row[1]].append(row[0])
        ours = services.rank_listings(pairs, as_of=start, signals_until=cutoff, limit=K_RANKED, diversify=False)
        shown = services.rank_listings(pairs, as_of=start, signals_until=cutoff, limit=K_RANKED)
        for user_id in pairs:
            seen = touched[user_id]
            relevant.append(viewed[user_id])
            ranked["ours"].append(ours.get(user_id, []))
            ranked["ours_as_shown"].append(shown.get(user_id, []))
            ranked["popularity"].append(_first(by_popularity, seen))
            in_order = [pk for category, _ in categories_viewed[user_id].most_common() for pk in by_category[category]]
            ranked["same_category_best_deal"].append(_first(in_order, seen))
    scores = {
        name: {
            "ndcg_at_10": round(ndcg_at_k(lists, relevant, 10), 4),
            "recall_at_20": round(recall_at_k(lists, relevant, 20), 4),
        }
        for name, lists in ranked.items()
    }
    baselines = ("popularity", "same_category_best_deal")
    return {
        "users": len(users),
        "days": days,
        "pairs": len(relevant),
        "cutoff": cutoff.isoformat(),
        "protocol": "each shopper's last 7 days of views held out; at the start of each held-out day, listings "
        "active then and untouched before the cutoff are ranked from signals before the cutoff; relevant = "
        "that day's views; means over (shopper, day) pairs with at least one",
        **scores,
        "beats_both": all(
            scores["ours"][metric] > scores[b][metric] for b in baselines for metric in ("ndcg_at_10", "recall_at_20")
        ),
        "as_shown_beats_both": all(
            scores["ours_as_shown"][metric] > scores[b][metric]
            for b in baselines
            for metric in ("ndcg_at_10", "recall_at_20")
        ),
    }


def _first(ordered: list[int], seen: set[int]) -> list[int]:
    found = []
    for pk in ordered:
        if pk not in seen:
            found.append(pk)
            if len(found) == K_RANKED:
                break
    return found
