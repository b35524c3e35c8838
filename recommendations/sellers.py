"""Sellers worth a look: sellers with several good deals in the categories a user follows, with why.

A user follows the categories of their enabled alert rules (a parent includes its children) and
the ones they viewed most lately. A seller qualifies in one of those categories with at least
`MIN_DEALS` fresh active listings scoring `GOOD_DEAL` or better: "Maria K. has 3 laptops 20–45%
below similar listings". For a whole batch of users in a fixed number of queries: the rules, the
views, the categories, the qualifying sellers, then their listings.
"""

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max
from django.utils import timezone

from alerts.models import DealAlertRule
from listings.models import Category, Listing, ListingView

from . import engine

GOOD_DEAL = 0.6
MIN_DEALS = 2
MAX_SELLERS = 3  # per user
MOST_VIEWED = 3  # categories a user's views add
VIEW_WINDOW = timedelta(days=30)
CANDIDATE_GROUPS = 500  # the most-stocked qualifying (seller, category) pairs a batch considers
_BELOW = re.compile(r"^(\d+)% below")


@dataclass(frozen=True)
class SellerDeal:
    listing_id: int
    title: str
    deal_score: float
    below: int | None  # percent below similar listings, when the score says


@dataclass(frozen=True)
class SellerPick:
    seller: str
    source: str
    category: str  # the category's name, e.g. "Laptops"
    deals: tuple[SellerDeal, ...]  # best first
    url: str = ""  # to the best deal (a tracked link, filled in by the digest)

    @property
    def best(self) -> SellerDeal:
        return self.deals[0]

    @property
    def why(self) -> str:
        """ "Maria K. has 3 laptops 20–45% below similar listings"."""
        count, things = len(self.deals), self.category.lower()
        below = sorted(d.below for d in self.deals if d.below is not None)
        if len(below) == count:
            span = f"{below[0]}%" if below[0] == below[-1] else f"{below[0]}–{below[-1]}%"
            return f"{self.seller} has {count} {things} {span} below similar listings"
        scores = sorted(d.deal_score for d in self.deals)
        return f"{self.seller} has {count} {things} with deal scores {scores[0]:.2f}–{scores[-1]:.2f}"


def _below(explanation: str) -> int | None:
    match = _BELOW.match(explanation or "")
    return int(match.group(1)) if match else None


def followed_categories(
    rules: Iterable[tuple[int, list]],
    views: Iterable[tuple[int, int, int]],
    tree: Sequence[tuple[int, str, int | None]],
) -> dict[int, set[int]]:
    """{user id: category ids followed}: from (user, rule slugs), (user, category, view count) and the
    category tree (id, slug, parent id). Pure."""
    by_slug = {slug: category_id for category_id, slug, _ in tree}
    children: dict[int | None, list[int]] = defaultdict(list)
    for category_id, _, parent_id in tree:
        children[parent_id].append(category_id)

    def with_descendants(category_id: int) -> set[int]:
        found, stack = set(), [category_id]
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(children.get(current, ()))
        return found

    followed: dict[int, set[int]] = defaultdict(set)
    for user_id, slugs in rules:
        for slug in slugs or ():
            if isinstance(slug, str) and slug in by_slug:
                followed[user_id] |= with_descendants(by_slug[slug])
    viewed: dict[int, Counter] = defaultdict(Counter)
    for user_id, category_id, count in views:
        viewed[user_id][category_id] += count
    for user_id, counts in viewed.items():
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MOST_VIEWED]
        followed[user_id].update(category_id for category_id, _ in top)
    return dict(followed)


def pick_sellers(
    followed: Mapping[int, set[int]],
    listings: Iterable[tuple],
    names: Mapping[int, str],
    link: Callable[[int, int], str] | None = None,
) -> dict[int, list[SellerPick]]:
    """Each user's sellers with `MIN_DEALS`+ good deals in a followed category, the most deals first.
    `listings`: (id, source, seller, category id, title, deal score, explanation). Pure."""
    groups: dict[tuple[str, str, int], list[SellerDeal]] = defaultdict(list)
    for listing_id, source, seller, category_id, title, score, explanation in listings:
        groups[source, seller, category_id].append(SellerDeal(listing_id, title, score, _below(explanation)))
    qualifying = {key: deals for key, deals in groups.items() if len(deals) >= MIN_DEALS}
    by_category: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for key in qualifying:
        by_category[key[2]].append(key)
    picks: dict[int, list[SellerPick]] = {}
    for user_id, categories in followed.items():
        keys = [key for category_id in categories for key in by_category.get(category_id, ())]
        keys.sort(key=lambda k: (-len(qualifying[k]), -max(d.deal_score for d in qualifying[k]), k))
        chosen = []
        for source, seller, category_id in keys[:MAX_SELLERS]:
            deals = tuple(sorted(qualifying[source, seller, category_id], key=lambda d: (-d.deal_score, d.listing_id)))
            url = link(user_id, deals[0].listing_id) if link else ""
            chosen.append(SellerPick(seller, source, names.get(category_id, "listings"), deals, url))
        if chosen:
            picks[user_id] = chosen
    return picks


def sellers_for(
    user_ids: Sequence[int], *, now: datetime | None = None, link: Callable[[int, int], str] | None = None
) -> dict[int, list[SellerPick]]:
    """Sellers worth a look for a batch of users: five queries however many users and listings."""
    now = now or timezone.now()
    ids = list(user_ids)
    rules = DealAlertRule.objects.filter(user_id__in=ids, enabled=True).values_list("user_id", "categories")
    views = (
        ListingView.objects.filter(user_id__in=ids, viewed_at__gt=now - VIEW_WINDOW, viewed_at__lte=now)
        .values_list("user_id", "listing__category_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "listing__category_id", "n")
    )
    tree = list(Category.objects.values_list("id", "slug", "parent_id", "name"))
    followed = followed_categories(rules, views, [row[:3] for row in tree])
    categories = set().union(*followed.values()) if followed else set()
    if not categories:
        return {}
    good = Listing.objects.filter(
        is_active=True,
        deal_score__gte=GOOD_DEAL,
        first_seen_at__gt=now - engine.MAX_AGE,
        category_id__in=categories,
    ).exclude(seller="")
    # The qualifying (seller, category) pairs first, so a batch never reads every good listing.
    pairs = list(
        good.values_list("source", "seller", "category_id")
        .annotate(n=Count("id"), best=Max("deal_score"))
        .filter(n__gte=MIN_DEALS)
        .order_by("-n", "-best")[:CANDIDATE_GROUPS]
    )
    if not pairs:
        return {}
    wanted = {(source, seller, category_id) for source, seller, category_id, _, _ in pairs}
    rows = [
        row
        for row in good.filter(seller__in={seller for _, seller, _ in wanted}).values_list(
            "id", "source", "seller", "category_id", "title", "deal_score", "deal_score_explanation"
        )
        if (row[1], row[2], row[3]) in wanted
    ]
    return pick_sellers(followed, rows, {row[0]: row[3] for row in tree}, link)
