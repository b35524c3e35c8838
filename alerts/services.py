"""Rules and matches: writes, the per-process rule index, live matching, the sweep and the backtest."""

import gc
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from accounts.geo import bounding_box, lookup_zip
from accounts.models import User
from activity.log import Event, Kind, record
from dealalerts.db import insert_ignoring_conflicts
from listings.models import Category, Listing
from listings.selectors import has_any_phrase
from notifications.events import DealEvent, RuleSource, notify

from .matching import ListingFacts, RuleIndex, RuleSpec, Why, match, phrase
from .models import DealAlertMatch, DealAlertRule

MAX_RULES_PER_USER = 50
DEFAULT_RADIUS_MI = 25
BACKTEST_DAYS = 30
SAMPLE_SIZE = 10
# What the predicate reads of a stored listing: its text as the words browse searches too.
LISTING_FACT_FIELDS = (
    "id",
    "search_words",
    "category_id",
    "condition",
    "price",
    "latitude",
    "longitude",
    "deal_score",
    "is_active",
)


# --- building predicate inputs -------------------------------------------------------------------


def category_descendants() -> dict[int, frozenset[int]]:
    """Each category id with all its descendants (itself included); one query."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for category_id, parent_id in Category.objects.values_list("id", "parent_id"):
        children[parent_id].append(category_id)

    def below(category_id: int) -> frozenset[int]:
        found, stack = {category_id}, list(children.get(category_id, ()))
        while stack:
            current = stack.pop()
            found.add(current)
            stack.extend(children.get(current, ()))
        return frozenset(found)

    return {category_id: below(category_id) for ids in children.values() for category_id in ids}


def rule_spec(
    rule: "DealAlertRule | RuleRow", *, home_zip: str, slug_ids: dict[str, int], descendants: dict[int, frozenset[int]]
) -> RuleSpec:
    category_ids: set[int] = set()
    for slug in rule.categories:
        if slug in slug_ids:
            category_ids |= descendants[slug_ids[slug]]
    center, radius, unresolved = None, None, False
    if rule.location or rule.radius_mi:
        place = lookup_zip(rule.location or home_zip)
        radius = float(rule.radius_mi or DEFAULT_RADIUS_MI)
        if place is None:
            unresolved = True
        else:
            center = (place.latitude, place.longitude)
    return RuleSpec(
        id=rule.id,
        user_id=rule.user_id,
        enabled=rule.enabled,
        keywords=tuple((k, phrase(k)) for k in rule.keywords),
        excludes=tuple((k, phrase(k)) for k in rule.exclude_keywords),
        category_ids=frozenset(category_ids),
        condition=rule.condition,
        min_price=rule.min_price,
        max_price=rule.max_price,
        center=center,
        radius_mi=radius,
        location_unresolved=unresolved,
        min_deal_score=rule.min_deal_score,
    )


def rule_specs(rules: Iterable[DealAlertRule]) -> list[RuleSpec]:
    """Predicate inputs for rules fetched with `select_related("user")` (or `only` of user.home_zip)."""
    slug_ids = dict(Category.objects.values_list("slug", "id"))
    descendants = category_descendants()
    return [rule_spec(r, home_zip=r.user.home_zip, slug_ids=slug_ids, descendants=descendants) for r in rules]


def listing_facts(rows: Iterable[dict]) -> list[ListingFacts]:
    return [ListingFacts.stored(**row) for row in rows]


# --- the index of enabled rules, rebuilt when any rule changes -----------------------------------


@dataclass
class _CachedIndex:
    version: tuple | None = None
    index: RuleIndex | None = None


_cache = _CachedIndex()
_cache_lock = threading.Lock()


def rules_version() -> tuple:
    """Changes whenever a rule is created, edited, paused, resumed or deleted; one query."""
    summary = DealAlertRule.objects.aggregate(count=Count("id"), latest=Max("updated_at"))
    return summary["count"], summary["latest"]


class RuleRow(NamedTuple):
    """What `rule_spec` reads of a rule, straight from the database: a million model instances
    would take most of an index build."""

    id: int
    user_id: int
    enabled: bool
    keywords: list[str]
    exclude_keywords: list[str]
    categories: list[str]
    condition: str
    min_price: Decimal | None
    max_price: Decimal | None
    location: str
    radius_mi: int | None
    min_deal_score: float | None


def build_index() -> RuleIndex:
    rows = (
        DealAlertRule.objects.filter(enabled=True)
        .values_list(*RuleRow._fields, "user__home_zip")
        .iterator(chunk_size=5000)
    )
    slug_ids = dict(Category.objects.values_list("slug", "id"))
    descendants = category_descendants()
    return RuleIndex(
        [rule_spec(RuleRow(*row[:-1]), home_zip=row[-1], slug_ids=slug_ids, descendants=descendants) for row in rows]
    )


def current_index() -> RuleIndex:
    """This process's index of enabled rules; a rule change shows up for the next batch."""
    version = rules_version()
    with _cache_lock:
        if _cache.index is None or _cache.version != version:
            _cache.index, _cache.version = build_index(), version
            # The index is long-lived: move it out of the collector's sight, or every full
            # collection walks hundreds of thousands of objects (~0.3 s each at 100k rules).
            gc.collect()
            gc.freeze()
        return _cache.index


# --- matching and recording -----------------------------------------------------------------------


def match_listings(listing_ids: list[int], *, now: datetime | None = None) -> list[DealAlertMatch]:
    """Match listings against every enabled rule; record new matches once and announce them per user.

    Safe to run twice, or on two workers at once: the unique (rule, listing) constraint keeps
    one row, and only the run that inserted a row announces it.
    """
    if not listing_ids:
        return []
    now = now or timezone.now()
    index = current_index()
    # In id order: matches and notifications are then made in the order listings arrived,
    # whatever order the database happens to return the rows in.
    rows = Listing.objects.filter(id__in=listing_ids, is_active=True).order_by("id").values(*LISTING_FACT_FIELDS)
    found: list[tuple[RuleSpec, ListingFacts, Why]] = []
    for facts in listing_facts(rows):
        found.extend((rule, facts, why) for rule, why in index.match(facts))
    return record_matches(found, now)


def record_matches(found: list[tuple[RuleSpec, ListingFacts, Why]], now: datetime) -> list[DealAlertMatch]:
    """Record new matches and hand each to notifications, in one transaction: a match is never
    recorded without its notification, nor notified twice."""
    if not found:
        return []
    with transaction.atomic():
        created = _insert_new_matches([(rule.id, facts.id, why.as_dict()) for rule, facts, why in found], now)
        if created:
            rule_ids = {m.rule_id for m in created}
            DealAlertRule.objects.filter(id__in=rule_ids).update(last_triggered_at=now)
            rules = DealAlertRule.objects.filter(id__in=rule_ids).values_list(
                "id", "user_id", "name", "notification_channels"
            )
            rule_info = {rule_id: (user_id, name, tuple(channels)) for rule_id, user_id, name, channels in rules}
            why_of = {(rule.id, facts.id): why for rule, facts, why in found}
            notify(
                [
                    DealEvent(
                        user_id=rule_info[m.rule_id][0],
                        listing_id=m.listing_id,
                        source=RuleSource(
                            rule_id=m.rule_id,
                            name=rule_info[m.rule_id][1],
                            why=why_of[(m.rule_id, m.listing_id)].sentence(),
                        ),
                        channels=rule_info[m.rule_id][2],
                    )
                    for m in created
                    if m.rule_id in rule_info
                ],
                now=now,
            )
    return created


def _insert_new_matches(rows: list[tuple[int, int, dict]], now: datetime) -> list[DealAlertMatch]:
    """Exactly the matches this call created (a concurrent run's are skipped), in one query."""
    created = insert_ignoring_conflicts(
        DealAlertMatch,
        [{"rule_id": r, "listing_id": li, "matched_at": now, "why": why} for r, li, why in rows],
        unique=("rule", "listing"),
        returning=("id", "rule_id", "listing_id"),
    )
    why_by_key = {(r, li): why for r, li, why in rows}
    return [
        DealAlertMatch(id=pk, rule_id=r, listing_id=li, matched_at=now, why=why_by_key[(r, li)])
        for pk, r, li in created
    ]


def sweep_recent_listings(*, since: datetime, now: datetime | None = None, chunk: int = 1000) -> int:
    """The periodic safety net: re-match listings seen since `since`; record only what is missing."""
    now = now or timezone.now()
    ids = list(Listing.objects.filter(is_active=True, last_seen_at__gte=since).values_list("id", flat=True))
    recorded = 0
    for start in range(0, len(ids), chunk):
        recorded += len(match_listings(ids[start : start + chunk], now=now))
    return recorded


# --- backtest ("test this rule") ------------------------------------------------------------------


@dataclass(frozen=True)
class Backtest:
    matching_count: int
    window_days: int
    per_day_estimate: float
    samples: list[tuple[Listing, Why]]


def narrow(listings: QuerySet, spec: RuleSpec) -> QuerySet:
    """The rule's criteria SQL can check cheaply: keywords and excluded keywords (through the
    listing's indexed words, the same words the predicate reads), category, condition, prices,
    score, and the radius as a bounding box. A superset of the matches; the predicate decides."""
    if spec.location_unresolved:
        return listings.none()
    if spec.keywords:
        any_keyword = has_any_phrase(words_ for _, words_ in spec.keywords)
        if any_keyword is None:
            return listings.none()  # keywords without a word in them match nothing
        listings = listings.filter(any_keyword)
    if (any_excluded := has_any_phrase(words_ for _, words_ in spec.excludes)) is not None:
        listings = listings.exclude(any_excluded)
    if spec.category_ids:
        listings = listings.filter(category_id__in=spec.category_ids)
    if spec.condition:
        listings = listings.filter(condition=spec.condition)
    if spec.min_price is not None:
        listings = listings.filter(price__gte=spec.min_price)
    if spec.max_price is not None:
        listings = listings.filter(price__lte=spec.max_price)
    if spec.min_deal_score is not None:
        listings = listings.filter(deal_score__gte=spec.min_deal_score)
    if spec.center is not None:
        min_lat, max_lat, min_lon, max_lon = bounding_box(*spec.center, spec.radius_mi)
        listings = listings.filter(latitude__range=(min_lat, max_lat), longitude__range=(min_lon, max_lon))
    return listings


def backtest(rule: DealAlertRule, *, now: datetime | None = None, days: int = BACKTEST_DAYS) -> Backtest:
    """How many stored listings of the last `days` the rule matches, with a sample and each one's why.

    SQL narrows by the cheap criteria; the predicate decides every listing it returns.
    """
    now = now or timezone.now()
    spec = replace(rule_specs([rule])[0], enabled=True)  # a paused rule can be tested too
    # Listings sold since were live when they appeared and would have alerted then: count them too.
    listings = narrow(Listing.objects.filter(first_seen_at__gte=now - timedelta(days=days)), spec)
    matched: list[tuple[int, Why]] = []
    for row in listings.order_by("-first_seen_at", "-id").values(*LISTING_FACT_FIELDS).iterator(chunk_size=2000):
        facts = ListingFacts.stored(**{**row, "is_active": True})
        if (why := match(spec, facts)) is not None:
            matched.append((facts.id, why))
    sample_ids = [listing_id for listing_id, _ in matched[:SAMPLE_SIZE]]
    by_id = Listing.objects.select_related("category").in_bulk(sample_ids)
    samples = [(by_id[listing_id], why) for listing_id, why in matched[:SAMPLE_SIZE]]
    return Backtest(len(matched), days, round(len(matched) / days, 2), samples)


# --- rule writes ----------------------------------------------------------------------------------


class RuleLimitReached(Exception):
    pass


def create_rule(user: User, **fields) -> DealAlertRule:
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # serialise a user's concurrent creates
        if DealAlertRule.objects.filter(user=user).count() >= MAX_RULES_PER_USER:
            raise RuleLimitReached(f"You can have at most {MAX_RULES_PER_USER} alert rules; delete one first.")
        # "Users with a first rule" counts people: any earlier rule.created of this user (a rule
        # since deleted too, or an undone delete's first life) makes this one a repeat.
        repeat = Event.objects.filter(kind=Kind.RULE_CREATED, user=user).exists()
        rule = DealAlertRule.objects.create(user=user, **fields)
        record(Kind.RULE_CREATED, user_id=user.pk, ref_id=rule.pk, repeat=repeat, now=rule.created_at)
        return rule


def update_rule(rule: DealAlertRule, **fields) -> DealAlertRule:
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.save()
    return rule


def set_enabled(rule: DealAlertRule, enabled: bool) -> DealAlertRule:
    """Pause or resume; idempotent (saving again only moves updated_at)."""
    if rule.enabled != enabled:
        rule.enabled = enabled
        rule.save(update_fields=["enabled", "updated_at"])
    return rule


def delete_rule(rule: DealAlertRule) -> None:
    rule.delete()


def recent_match_counts(
    rules: Iterable[DealAlertRule], *, days: int = 7, now: datetime | None = None
) -> dict[int, int]:
    """Matches per rule in the last `days`, for a list of rules; one query."""
    now = now or timezone.now()
    rows = (
        DealAlertMatch.objects.filter(rule__in=list(rules), matched_at__gte=now - timedelta(days=days))
        .values("rule_id")
        .annotate(n=Count("id"))
        .values_list("rule_id", "n")
    )
    return dict(rows)
