"""The user's watchlist as the page and the API show it: one sort and filter, a fixed number of queries."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, F, FloatField, Prefetch, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce

from accounts.models import User
from listings.models import Category, PricePoint
from listings.selectors import category_subtree_ids

from .models import WatchlistItem

# name: (label, ordering). "Ending soonest": listings carry no end date, but marketplaces expire
# them by age (Craigslist after 7–45 days, Facebook after 7 unless renewed), so the oldest active
# listing is the one likeliest to end next; sold items come last.
SORTS: dict[str, tuple[str, tuple]] = {
    "drop": ("Biggest drop", ("change_percent", "-created_at", "-id")),
    "price": ("Price: low to high", ("listing__price", "-created_at", "-id")),
    "-price": ("Price: high to low", ("-listing__price", "-created_at", "-id")),
    "added": ("Date added", ("-created_at", "-id")),
    "ending": ("Ending soonest", ("-listing__is_active", "listed_at", "id")),
}
DEFAULT_SORT = "added"
SORT_HELP = (
    "drop: biggest drop since added first; price / -price; added: newest first; ending: oldest active "
    "listing first (listings have no end date, and marketplaces expire them by age), sold last."
)


@dataclass(frozen=True)
class WatchlistQuery:
    """What the user asked for; `errors` names each parameter that was not understood."""

    sort: str = DEFAULT_SORT
    category: Category | None = None
    at_or_below_target: bool = False
    errors: dict[str, str] | None = None


def parse_query(params) -> WatchlistQuery:
    """Read `sort`, `category` (a slug; its subcategories too) and `at_or_below_target` from GET params."""
    errors: dict[str, str] = {}
    sort = params.get("sort") or DEFAULT_SORT
    if sort not in SORTS:
        errors["sort"] = f"Sort by one of: {', '.join(SORTS)}."
        sort = DEFAULT_SORT
    category = None
    slug = params.get("category") or ""
    if slug:
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            errors["category"] = f"No category “{slug[:60]}”."
    flag = (params.get("at_or_below_target") or "").lower()
    if flag not in ("", "true", "false", "1", "0", "on", "yes", "no"):
        errors["at_or_below_target"] = "Use true or false."
    return WatchlistQuery(sort, category, flag in ("true", "1", "on", "yes"), errors or None)


def watchlist_items(user: User, query: WatchlistQuery = WatchlistQuery()) -> QuerySet[WatchlistItem]:
    """The user's items, sorted and filtered, with the listing, the change since added and the price history.

    Each item carries `change_percent` (for sorting) and `listing.history` (its price points, oldest
    first): the rows of a page take three queries however many there are.
    """
    items = (
        WatchlistItem.objects.filter(user=user)
        .select_related("listing", "listing__category")
        .annotate(
            # For sorting. In floats: SQLite stores whole-dollar decimals as integers and would divide
            # them as integers (−30% for −30.8%).
            change_percent=Case(
                When(added_price=0, then=Value(0.0)),
                default=Cast(F("listing__price") - F("added_price"), FloatField())
                * Value(100.0)
                / Cast(F("added_price"), FloatField()),
                output_field=FloatField(),
            ),
            listed_at=Coalesce("listing__posted_at", "listing__first_seen_at"),
        )
        .prefetch_related(
            Prefetch(
                "listing__price_points", queryset=PricePoint.objects.order_by("recorded_at", "id"), to_attr="history"
            )
        )
    )
    if query.category is not None:
        items = items.filter(listing__category_id__in=category_subtree_ids(query.category))
    if query.at_or_below_target:
        items = items.filter(price_threshold__isnull=False, listing__price__lte=F("price_threshold"))
    return items.order_by(*SORTS[query.sort][1])


def watched_listing_ids(user: User, listing_ids) -> dict[int, WatchlistItem]:
    """The user's items among these listings, by listing id: one query for a page of cards."""
    if not user.is_authenticated:
        return {}
    return {item.listing_id: item for item in WatchlistItem.objects.filter(user=user, listing_id__in=list(listing_ids))}


def at_or_below(item: WatchlistItem) -> bool:
    return item.price_threshold is not None and item.listing.price <= item.price_threshold


def change_percent(item: WatchlistItem) -> Decimal:
    """The change since added as a percent of the price then, exactly (the annotation is for sorting)."""
    if not item.added_price:
        return Decimal(0)
    return (item.listing.price - item.added_price) * 100 / item.added_price
