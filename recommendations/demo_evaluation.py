"""The domain evaluation: on the demo data, does our ranking predict next week's views better than
the two obvious rules a shop would start with?

Each shopper's last `days` days of views are held out. Every method sees exactly the same thing —
the signals (views, watches, purchases, dismissals) before the cutoff — and nothing of the demo
generator's hidden tastes, which the database never holds. At the start of each held-out day, the
candidates are the listings active at that moment that the shopper had not touched before the
cutoff; each method ranks them for each shopper, and the day's views among those candidates are the
relevant items (binary). NDCG@10 and recall@20 are averaged over (shopper, day) pairs with at least
one such view. A view of a listing that was not a candidate (listed later that day, or seen before)
is left out of the truth: no method could have ranked it, so it would only blur the comparison.

Methods:
- ours: `services.rank_listings`, the product's scoring, asked for a plain ranking (no category cap,
  since recall@20 over a capped list would measure the cap); the capped list is reported alongside;
- popularity: the candidates most viewed by everyone before the cutoff, then the newest;
- same category, best deal: the shopper's most-viewed categories before the cutoff, their candidates
  by deal score, merged in proportion to the shopper's views per category, then any other candidate
  by deal score.
"""

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from listings.models import Listing, ListingView
from watchlist.models import WatchlistItem

from . import services
from .evaluation import ndcg_per_user, recall_at_k
from .models import Dismissal, Purchase

HELD_OUT_DAYS = 7
K_NDCG, K_RECALL = 10, 20
TOP_CATEGORIES = 3


# --- the baselines (pure) ------------------------------------------------------------------------


def popularity_ranking(
    candidates: Sequence[int], views: Mapping[int, int], first_seen: Mapping[int, datetime], k: int
) -> list[int]:
    """The candidates most viewed, ties broken by the newest (then by id, so it is deterministic)."""
    return sorted(candidates, key=lambda i: (-views.get(i, 0), -first_seen[i].timestamp(), i))[:k]


def category_deal_ranking(
    candidates: Sequence[int],
    category_views: Mapping[int, int],
    category_of: Mapping[int, int],
    deal_of: Mapping[int, float | None],
    k: int,
) -> list[int]:
    """The shopper's TOP_CATEGORIES most-viewed categories, each one's candidates by deal score, merged
    so each category gets places in proportion to its views; then the rest by deal score."""
    by_deal = sorted(candidates, key=lambda i: (-(deal_of[i] if deal_of[i] is not None else -1.0), i))
    favourites = [c for c, _ in sorted(category_views.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CATEGORIES]]
    total = sum(category_views[c] for c in favourites)
    keyed, seen = [], Counter()
    for listing_id in by_deal:
        category = category_of[listing_id]
        if category in favourites:
            # The j-th best deal of a category with share s comes at j / s: a fair-share merge.
            # Ties go to the better deal.
            place = (seen[category] + 1) * total / category_views[category]
            keyed.append((place, -(deal_of[listing_id] or 0.0), listing_id))
            seen[category] += 1
    ranked = [listing_id for *_, listing_id in sorted(keyed)]
    if len(ranked) < k:
        chosen = set(ranked)
        ranked += [i for i in by_deal if i not in chosen][: k - len(ranked)]
    return ranked[:k]


def _scores(ranked: Sequence[Sequence[int]], relevant: Sequence[Collection[int]]) -> dict[str, float]:
    ndcg = ndcg_per_user(ranked, relevant, K_NDCG)
    return {
        f"ndcg_at_{K_NDCG}": round(float(ndcg.mean()) if len(ndcg) else 0.0, 4),
        f"recall_at_{K_RECALL}": round(recall_at_k(ranked, relevant, K_RECALL), 4),
    }


# --- reading the data ----------------------------------------------------------------------------


def _touched_before(user_ids: Sequence[int], cutoff: datetime) -> dict[int, set[int]]:
    """Every listing each shopper viewed, watched, bought or dismissed before the cutoff."""
    touched: dict[int, set[int]] = defaultdict(set)
    sources = (
        ListingView.objects.filter(viewed_at__lt=cutoff),
        WatchlistItem.objects.filter(created_at__lt=cutoff),
        Purchase.objects.filter(created_at__lt=cutoff),
        Dismissal.objects.filter(created_at__lt=cutoff),
    )
    for rows in sources:
        for user_id, listing_id in rows.filter(user_id__in=user_ids).values_list("user_id", "listing_id"):
            touched[user_id].add(listing_id)
    return touched


def _active_at(moment: datetime) -> list[tuple[int, int, float | None, datetime]]:
    return list(
        Listing.objects.filter(first_seen_at__lte=moment)
        .filter(Q(deactivated_at__isnull=True) | Q(deactivated_at__gt=moment))
        .values_list("id", "category_id", "deal_score", "first_seen_at")
    )


def demo_report(
    *, days: int = HELD_OUT_DAYS, now: datetime | None = None, user_ids: Sequence[int] | None = None
) -> dict:
    """Ours against popularity and against "same category, best deal" on the demo data, with each
    shopper's last `days` days of views held out; see the module docstring for the protocol."""
    if now is None:
        # The data's own end, so a demo seeded days ago is judged on its last week, not on empty days.
        latest = ListingView.objects.aggregate(latest=Max("viewed_at"))["latest"]
        now = latest + timedelta(microseconds=1) if latest else timezone.now()
    cutoff = now - timedelta(days=days)
    if user_ids is None:
        before = set(ListingView.objects.filter(viewed_at__lt=cutoff).values_list("user_id", flat=True).distinct())
        after = ListingView.objects.filter(viewed_at__gte=cutoff, viewed_at__lt=now)
        user_ids = sorted(before & set(after.values_list("user_id", flat=True).distinct()))
    user_ids = list(user_ids)

    popular = dict(
        ListingView.objects.filter(viewed_at__lt=cutoff)
        .values("listing_id")
        .annotate(n=Count("id"))
        .values_list("listing_id", "n")
    )
    category_views: dict[int, Counter] = defaultdict(Counter)
    for user_id, category_id in ListingView.objects.filter(user_id__in=user_ids, viewed_at__lt=cutoff).values_list(
        "user_id", "listing__category_id"
    ):
        category_views[user_id][category_id] += 1
    touched = _touched_before(user_ids, cutoff)
    held_out: dict[tuple[int, int], set[int]] = defaultdict(set)
    for user_id, listing_id, at in ListingView.objects.filter(
        user_id__in=user_ids, viewed_at__gte=cutoff, viewed_at__lt=now
    ).values_list("user_id", "listing_id", "viewed_at"):
        held_out[user_id, int((at - cutoff) / timedelta(days=1))].add(listing_id)

    methods = ("ours", "ours_as_shown", "popularity", "same_category_best_deal")
    ranked: dict[str, list[list[int]]] = {method: [] for method in methods}
    relevant: list[set[int]] = []
    for day in range(days):
        start = cutoff + timedelta(days=day)
        active = _active_at(start)
        ids = [row[0] for row in active]
        category_of = {row[0]: row[1] for row in active}
        deal_of = {row[0]: row[2] for row in active}
        first_seen = {row[0]: row[3] for row in active}
        pairs = []
        for user_id in user_ids:
            truth = {i for i in held_out.get((user_id, day), ()) if i in category_of and i not in touched[user_id]}
            if truth:
                pairs.append((user_id, truth))
        if not pairs:
            continue
        shoppers = [user_id for user_id, _ in pairs]
        # Ours may pull a few more than needed: whatever the shopper touched is dropped for every method.
        ours = services.rank_listings(shoppers, as_of=start, signals_until=cutoff, limit=K_RECALL + 10, diversify=False)
        shown = services.rank_listings(shoppers, as_of=start, signals_until=cutoff)
        widest = max(len(touched[u]) for u in shoppers) + K_RECALL
        most_viewed = popularity_ranking(ids, popular, first_seen, widest)
        for user_id, truth in pairs:
            mine = touched[user_id]
            candidates = [i for i in ids if i not in mine]
            keep = [i for i in ours.get(user_id, []) if i in category_of and i not in mine]
            ranked["ours"].append(keep[:K_RECALL])
            ranked["ours_as_shown"].append([i for i in shown.get(user_id, []) if i not in mine])
            ranked["popularity"].append([i for i in most_viewed if i not in mine][:K_RECALL])
            ranked["same_category_best_deal"].append(
                category_deal_ranking(candidates, category_views[user_id], category_of, deal_of, K_RECALL)
            )
            relevant.append(truth)

    report: dict = {
        "users": len(user_ids),
        "days": days,
        "pairs": len(relevant),
        "cutoff": cutoff.isoformat(timespec="seconds"),
    }
    for method in methods:
        report[method] = _scores(ranked[method], relevant)
    ndcg, recall = f"ndcg_at_{K_NDCG}", f"recall_at_{K_RECALL}"
    report["beats_both"] = bool(relevant) and all(
        report["ours"][metric] > report[other][metric]
        for other in ("popularity", "same_category_best_deal")
        for metric in (ndcg, recall)
    )
    return report
