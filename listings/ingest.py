"""Ingestion: the one path every connector (API, CLI import, demo feed) takes.

`parse_listing` validates one raw item (a dict, as JSON or CSV gives it) into a
`ListingInput`; `ingest_listings` upserts a batch by (source, external_id) with
a fixed number of queries, records price history on change, scores listings the
source did not score, and after commit hands new and re-priced ids to Celery.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.geo import lookup_zip

from .models import Category, Condition, Listing, PricePoint, Source
from .scoring import load_benchmarks, pick_benchmark, score_price
from .tasks import announce_listing_changes
from .text import key_words

MAX_BATCH = 1000
MAX_PRICE = Decimal("99999999.99")
SOURCES = frozenset(Source.values)
CONDITIONS = frozenset(Condition.values)
REQUIRED = ("source", "external_id", "url", "title", "price", "category", "zip_code")
OPTIONAL = ("description", "currency", "condition", "image_url", "seller", "posted_at", "deal_score", "is_active")
ALL_FIELDS = frozenset(REQUIRED + OPTIONAL)
_url_validator = URLValidator(schemes=["http", "https"])


@dataclass(frozen=True, slots=True)
class ListingInput:
    source: str
    external_id: str
    url: str
    title: str
    price: Decimal
    category_id: int
    zip_code: str
    latitude: float
    longitude: float
    description: str = ""
    currency: str = "USD"
    condition: str = ""
    image_url: str = ""
    seller: str = ""
    posted_at: datetime | None = None
    deal_score: float | None = None
    is_active: bool = True


@dataclass
class IngestResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    repriced: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        kinds = ("created", "updated", "repriced", "unchanged")
        return {
            **{kind: len(getattr(self, kind)) for kind in kinds},
            "ids": {kind: getattr(self, kind) for kind in kinds},
        }

    def add(self, other: "IngestResult") -> None:
        for kind in ("created", "updated", "repriced", "unchanged"):
            getattr(self, kind).extend(getattr(other, kind))


Errors = dict[str, list[str]]


def _text(raw: dict, name: str, errors: Errors, *, max_length: int, required: bool) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            errors[name] = ["This field is required."]
        return ""
    if not isinstance(value, str):
        errors[name] = ["Must be a string."]
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = ["This field may not be blank."]
    elif len(value) > max_length:
        errors[name] = [f"At most {max_length} characters (got {len(value)})."]
    return value


def _url(raw: dict, name: str, errors: Errors, *, required: bool) -> str:
    value = _text(raw, name, errors, max_length=500, required=required)
    if value and name not in errors:
        try:
            _url_validator(value)
        except ValidationError:
            errors[name] = ["Enter a valid http(s) URL."]
    return value


def _price(raw: dict, errors: Errors) -> Decimal:
    value = raw.get("price")
    if value is None or value == "":
        errors["price"] = ["This field is required."]
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        errors["price"] = ['Must be a number or a decimal string such as "249.99".']
        return Decimal(0)
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        errors["price"] = ['Must be a number or a decimal string such as "249.99".']
        return Decimal(0)
    if not price.is_finite():
        errors["price"] = ["Must be a finite number."]
    elif price < 0:
        errors["price"] = ["Must be zero or more."]
    elif price > MAX_PRICE:
        errors["price"] = [f"Must be at most {MAX_PRICE}."]
    elif price != price.quantize(Decimal("0.01")):
        errors["price"] = ["At most 2 decimal places."]
    else:
        return price.quantize(Decimal("0.01"))
    return Decimal(0)


def parse_listing(raw: Any, category_ids: dict[str, int]) -> tuple[ListingInput | None, Errors]:
    """Validate one raw listing; returns (input, {}) or (None, {field: [messages]})."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": ["Each listing must be a JSON object."]}
    errors: Errors = {}
    unknown = sorted(set(raw) - ALL_FIELDS)
    for name in unknown:
        errors[name] = ["Unknown field."]

    source = raw.get("source")
    if source in (None, ""):
        errors["source"] = ["This field is required."]
    elif source not in SOURCES:
        errors["source"] = [f"Must be one of: {', '.join(sorted(SOURCES))}."]
    external_id = raw.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if external_id in (None, ""):
        errors["external_id"] = ["This field is required."]
    elif not isinstance(external_id, str):
        errors["external_id"] = ["Must be a string."]
    elif len(external_id) > 100:
        errors["external_id"] = ["At most 100 characters."]

    url = _url(raw, "url", errors, required=True)
    title = _text(raw, "title", errors, max_length=200, required=True)
    description = _text(raw, "description", errors, max_length=10000, required=False)
    seller = _text(raw, "seller", errors, max_length=100, required=False)
    image_url = _url(raw, "image_url", errors, required=False)
    price = _price(raw, errors)

    currency = raw.get("currency") or "USD"
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        errors["currency"] = ['Must be a 3-letter ISO 4217 code such as "USD".']

    category_id = 0
    category = raw.get("category")
    if category in (None, ""):
        errors["category"] = ["This field is required."]
    elif not isinstance(category, str) or category not in category_ids:
        errors["category"] = [f"Unknown category {category!r}; see GET /api/categories for the slugs."]
    else:
        category_id = category_ids[category]

    condition = raw.get("condition") or ""
    if condition and condition not in CONDITIONS:
        errors["condition"] = [f"Must be one of: {', '.join(Condition.values)}, or null."]

    place = None
    zip_code = raw.get("zip_code")
    if isinstance(zip_code, int) and not isinstance(zip_code, bool):
        zip_code = f"{zip_code:05d}"
    if zip_code in (None, ""):
        errors["zip_code"] = ["This field is required."]
    elif (place := lookup_zip(zip_code)) is None:
        errors["zip_code"] = ['Unknown US ZIP code; send 5 digits such as "94103".']

    posted_at = None
    raw_posted = raw.get("posted_at")
    if raw_posted not in (None, ""):
        posted_at = parse_datetime(raw_posted) if isinstance(raw_posted, str) else None
        if posted_at is None:
            errors["posted_at"] = ['Must be an ISO 8601 date-time such as "2026-11-20T18:04:00Z".']
        elif timezone.is_naive(posted_at):
            posted_at = posted_at.replace(tzinfo=UTC)

    deal_score = raw.get("deal_score")
    if deal_score is not None:
        if isinstance(deal_score, bool) or not isinstance(deal_score, (int, float)):
            errors["deal_score"] = ["Must be a number from 0 to 1."]
        elif not 0 <= deal_score <= 1:
            errors["deal_score"] = ["Must be between 0 and 1."]
        else:
            deal_score = float(deal_score)

    is_active = raw.get("is_active", True)
    if is_active is None:
        is_active = True
    if not isinstance(is_active, bool):
        errors["is_active"] = ["Must be true or false."]

    if errors:
        return None, errors
    return ListingInput(
        source=source,
        external_id=external_id,
        url=url,
        title=title,
        price=price,
        category_id=category_id,
        zip_code=zip_code,
        latitude=place.latitude,
        longitude=place.longitude,
        description=description,
        currency=currency,
        condition=condition,
        image_url=image_url,
        seller=seller,
        posted_at=posted_at,
        deal_score=deal_score,
        is_active=is_active,
    ), {}


def category_ids_by_slug() -> dict[str, int]:
    return dict(Category.objects.values_list("slug", "id"))


def parse_batch(raw_items: Any) -> tuple[list[ListingInput], dict[str, Any]]:
    """Validate a whole batch. Errors: `{"3": {"price": [...]}}` by index, or a top-level message."""
    if not isinstance(raw_items, list):
        return [], {"non_field_errors": ["Send a JSON array of listings."]}
    if not raw_items:
        return [], {"non_field_errors": ["Send at least one listing."]}
    if len(raw_items) > MAX_BATCH:
        return [], {"non_field_errors": [f"Send at most {MAX_BATCH:,} listings per request (got {len(raw_items):,})."]}
    category_ids = category_ids_by_slug()
    items, errors, seen = [], {}, {}
    for index, raw in enumerate(raw_items):
        item, item_errors = parse_listing(raw, category_ids)
        if item is not None:
            key = (item.source, item.external_id)
            if key in seen:
                item_errors = {"external_id": [f"Repeats item {seen[key]} ({item.source}/{item.external_id})."]}
            seen.setdefault(key, index)
        if item_errors:
            errors[str(index)] = item_errors
        else:
            items.append(item)
    return items, errors


# Fields whose change makes an existing listing "updated" (price has its own kind).
_COMPARED = (
    "url",
    "title",
    "description",
    "currency",
    "category_id",
    "condition",
    "zip_code",
    "image_url",
    "seller",
    "posted_at",
    "is_active",
)
_EXISTING_FIELDS = (
    "id",
    "source",
    "external_id",
    "price",
    "deal_score",
    "deal_score_explanation",
    "deal_score_is_computed",
    "deactivated_at",
    *_COMPARED,
)
_UPDATE_FIELDS = [
    "url",
    "title",
    "description",
    "price",
    "currency",
    "category",
    "condition",
    "zip_code",
    "latitude",
    "longitude",
    "image_url",
    "seller",
    "posted_at",
    "last_seen_at",
    "is_active",
    "deactivated_at",
    "deal_score",
    "deal_score_explanation",
    "deal_score_is_computed",
]


def _existing(items: list[ListingInput]) -> dict[tuple[str, str], dict]:
    by_source: dict[str, list[str]] = {}
    for item in items:
        by_source.setdefault(item.source, []).append(item.external_id)
    condition = Q()
    for source, external_ids in by_source.items():
        condition |= Q(source=source, external_id__in=external_ids)
    rows = Listing.objects.filter(condition).values(*_EXISTING_FIELDS)
    return {(row["source"], row["external_id"]): row for row in rows}


def ingest_listings(items: list[ListingInput], *, now: datetime | None = None, announce: bool = True) -> IngestResult:
    """Upsert a validated batch (≤ MAX_BATCH, unique keys) in one transaction, a fixed number of queries."""
    result = IngestResult()
    if not items:
        return result
    now = now or timezone.now()
    with transaction.atomic():
        existing = _existing(items)
        category_names = dict(Category.objects.filter(id__in={i.category_id for i in items}).values_list("id", "name"))
        title_words = {i.title: key_words(i.title) for i in items if i.deal_score is None}
        benchmarks = (
            load_benchmarks({i.category_id for i in items if i.deal_score is None}, set().union(*title_words.values()))
            if title_words
            else {}
        )

        rows, kinds = [], []
        for item in items:
            old = existing.get((item.source, item.external_id))
            if old is None:
                kind = "created"
            elif old["price"] != item.price:
                kind = "repriced"
            elif any(old[name] != getattr(item, name) for name in _COMPARED):
                kind = "updated"
            else:
                kind = "unchanged"

            if item.deal_score is not None:
                score, why, computed = item.deal_score, f"Score given by {Source(item.source).label}.", False
            elif old is not None and kind == "unchanged" and old["deal_score_is_computed"]:
                score, why, computed = old["deal_score"], old["deal_score_explanation"], True
            else:
                benchmark = pick_benchmark(item.category_id, title_words[item.title], benchmarks)
                score, why = score_price(item.price, benchmark, category_names.get(item.category_id, ""))
                computed = True

            deactivated_at = None if item.is_active else ((old or {}).get("deactivated_at") or now)
            rows.append(
                Listing(
                    source=item.source,
                    external_id=item.external_id,
                    url=item.url,
                    title=item.title,
                    description=item.description,
                    price=item.price,
                    currency=item.currency,
                    category_id=item.category_id,
                    condition=item.condition,
                    zip_code=item.zip_code,
                    latitude=item.latitude,
                    longitude=item.longitude,
                    image_url=item.image_url,
                    seller=item.seller,
                    posted_at=item.posted_at,
                    first_seen_at=now,
                    last_seen_at=now,
                    is_active=item.is_active,
                    deactivated_at=deactivated_at,
                    deal_score=score,
                    deal_score_explanation=why,
                    deal_score_is_computed=computed,
                )
            )
            kinds.append(kind)

        Listing.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["source", "external_id"], update_fields=_UPDATE_FIELDS
        )
        PricePoint.objects.bulk_create(
            [
                PricePoint(listing_id=row.pk, price=row.price, recorded_at=now)
                for row, kind in zip(rows, kinds, strict=True)
                if kind in ("created", "repriced")
            ]
        )
        for row, kind in zip(rows, kinds, strict=True):
            getattr(result, kind).append(row.pk)

        if announce and (result.created or result.repriced):
            created, repriced = list(result.created), list(result.repriced)
            transaction.on_commit(lambda: announce_listing_changes.delay(created, repriced))
    return result
