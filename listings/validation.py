"""Validation of raw listings (a dict, as JSON or CSV gives it) into `ListingInput`.

Written by hand rather than with a DRF serializer: every connector goes through
it, at tens of thousands of listings a second, and a serializer costs ~10x more.
Errors are `{field: [messages]}` per item, and `{"<index>": {...}}` per batch.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.geo import lookup_zip
from dealalerts.request_checks import text_problem

from .models import Category, Condition, Source

MAX_BATCH = 1000
MAX_PRICE = Decimal("99999999.99")
SOURCES = frozenset(Source.values)
CONDITIONS = frozenset(Condition.values)
REQUIRED = ("source", "external_id", "url", "title", "price", "category", "zip_code")
OPTIONAL = ("description", "currency", "condition", "image_url", "seller", "posted_at", "deal_score", "is_active")
ALL_FIELDS = frozenset(REQUIRED + OPTIONAL)


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
    if problem := text_problem(value):
        errors[name] = [problem]
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = ["This field may not be blank."]
    elif len(value) > max_length:
        errors[name] = [f"At most {max_length} characters (got {len(value)})."]
    return value


def _url(raw: dict, name: str, errors: Errors, *, required: bool) -> str:
    value = _text(raw, name, errors, max_length=500, required=required)
    if value and name not in errors and not _is_web_url(value):
        errors[name] = ["Enter a valid http(s) URL."]
    return value


# http(s), a dotted host (optionally :port), then anything but white space. One regex is
# ~20x cheaper than URLValidator, and ingest runs it twice per listing.
_WEB_URL_RE = re.compile(r"https?://[^\s/?#:@]+\.[^\s/?#:@]+(?::\d{1,5})?(?:[/?#]\S*)?", re.IGNORECASE)


def _is_web_url(value: str) -> bool:
    return _WEB_URL_RE.fullmatch(value) is not None


# The published schema's pattern for a price string (listings/api.py uses this one): ASCII
# digits only, no sign, exponent, separator or surrounding space.
PRICE_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
_PRICE_RE = re.compile(PRICE_PATTERN)
_NEGATIVE_RE = re.compile(r"-[0-9]+(\.[0-9]+)?")  # only to say why "-5" is refused
_PRICE_FORMAT = 'Must be a number or a decimal string such as "249.99" (at most 8 digits and 2 decimals).'


def _price(raw: dict, errors: Errors) -> Decimal:
    value = raw.get("price")
    if value is None or value == "":
        errors["price"] = ["This field is required."]
        return Decimal(0)
    if isinstance(value, str):
        if _PRICE_RE.fullmatch(value):
            return Decimal(value).quantize(Decimal("0.01"))
        negative = _NEGATIVE_RE.fullmatch(value) and Decimal(value) < 0
        errors["price"] = ["Must be zero or more." if negative else _PRICE_FORMAT]
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors["price"] = [_PRICE_FORMAT]
        return Decimal(0)
    price = Decimal(str(value))
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
    elif not isinstance(source, str) or source not in SOURCES:
        errors["source"] = [f"Must be one of: {', '.join(sorted(SOURCES))}."]
    external_id = raw.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if external_id in (None, ""):
        errors["external_id"] = ["This field is required."]
    elif not isinstance(external_id, str):
        errors["external_id"] = ["Must be a string."]
    elif problem := text_problem(external_id):
        errors["external_id"] = [problem]
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
    if condition and (not isinstance(condition, str) or condition not in CONDITIONS):
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
        try:
            posted_at = parse_datetime(raw_posted) if isinstance(raw_posted, str) else None
            if posted_at is not None:
                # In UTC, as stored: a year-1 or year-9999 offset can fall outside datetime's range.
                posted_at = posted_at.replace(tzinfo=UTC) if timezone.is_naive(posted_at) else posted_at.astimezone(UTC)
        except (ValueError, OverflowError):  # well-formed but impossible ("2026-13-45"), or out of range
            posted_at = None
        if posted_at is None:
            errors["posted_at"] = ['Must be an ISO 8601 date-time such as "2026-11-20T18:04:00Z".']

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
