"""Reads: the category tree and listing search, shared by the pages and the API."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.fields.array import ArrayContains
from django.db import connection
from django.db.models import F, FloatField, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import ASin, Collate, Cos, Power, Radians, Sin, Sqrt

from accounts.geo import EARTH_RADIUS_MI, ZipPlace, bounding_box

from .models import Category, Listing
from .text import phrase_text

# Exactly the expression (and collation) GIN indexes on PostgreSQL (listings migration 0006), so
# the planner uses the index.
_WORD_ARRAY = Collate(
    Func(
        Func(F("search_words"), function="btrim", output_field=TextField()),
        Value(" "),
        function="string_to_array",
        output_field=ArrayField(TextField()),
    ),
    "C",
)


def has_phrase(phrase: Sequence[str]) -> Q:
    """Listings whose words contain `phrase` (folded words, `listings.text.words`) whole and adjacent.

    The same test as the alert predicate (`alerts.matching.contains`), as a substring of the
    space-padded `search_words`. On PostgreSQL the words must also be in the GIN-indexed array,
    which is implied by the substring but lets the index find the candidates.
    """
    condition = Q(search_words__contains=phrase_text(phrase))
    if connection.vendor == "postgresql":
        condition &= Q(ArrayContains(_WORD_ARRAY, list(phrase)))
    return condition


def has_any_phrase(phrases: Iterable[Sequence[str]]) -> Q | None:
    """Listings containing at least one of `phrases` (an alert rule's keywords); None when there are none."""
    condition = None
    for phrase in phrases:
        if phrase:
            condition = has_phrase(phrase) if condition is None else condition | has_phrase(phrase)
    return condition


def category_subtree_ids(category: Category) -> list[int]:
    """The category and all its descendants (the tree is small: one query)."""
    children: dict[int | None, list[int]] = {}
    for cid, parent_id in Category.objects.values_list("id", "parent_id"):
        children.setdefault(parent_id, []).append(cid)
    ids, stack = [], [category.id]
    while stack:
        cid = stack.pop()
        ids.append(cid)
        stack.extend(children.get(cid, []))
    return ids


def categories_in_tree_order() -> list[tuple[Category, int]]:
    """Every category with its depth, parents before children, for select boxes."""
    categories = list(Category.objects.all())
    by_parent: dict[int | None, list[Category]] = {}
    for category in categories:
        by_parent.setdefault(category.parent_id, []).append(category)
    ordered: list[tuple[Category, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for category in sorted(by_parent.get(parent_id, []), key=lambda c: c.name):
            ordered.append((category, depth))
            walk(category.id, depth + 1)

    walk(None, 0)
    return ordered


def within_radius(queryset: QuerySet[Listing], place: ZipPlace, radius_mi: float) -> QuerySet[Listing]:
    """Listings within `radius_mi` of a ZIP centroid, annotated with `distance_mi`."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(place.latitude, place.longitude, radius_mi)
    lat0, lon0 = Radians(place.latitude), Radians(place.longitude)
    haversine = Power(Sin((Radians(F("latitude")) - lat0) / 2), 2) + Cos(lat0) * Cos(Radians(F("latitude"))) * Power(
        Sin((Radians(F("longitude")) - lon0) / 2), 2
    )
    return (
        queryset.filter(latitude__range=(min_lat, max_lat), longitude__range=(min_lon, max_lon))
        .annotate(distance_mi=2 * EARTH_RADIUS_MI * ASin(Sqrt(haversine), output_field=FloatField()))
        .filter(distance_mi__lte=radius_mi)
    )


@dataclass(frozen=True)
class CategoryChoice:
    slug: str
    name: str
    depth: int  # 0: the group's own (top-level) category
    selected: bool


@dataclass(frozen=True)
class CategoryGroup:
    """A top-level category and everything under it: one box of the category picker."""

    slug: str
    name: str
    choices: list[CategoryChoice]

    @property
    def selected_count(self) -> int:
        return sum(choice.selected for choice in self.choices)


def category_groups(selected: Iterable[str]) -> list[CategoryGroup]:
    """The category tree grouped by top-level category, each choice marked selected or not."""
    chosen = set(selected)
    groups: list[CategoryGroup] = []
    for category, depth in categories_in_tree_order():
        if depth == 0:
            groups.append(CategoryGroup(category.slug, category.name, []))
        groups[-1].choices.append(CategoryChoice(category.slug, category.name, depth, category.slug in chosen))
    return groups


def selection_summary(names: list[str]) -> str:
    """The picker's summary: "None selected" or "2 selected: Laptops, Bikes" (its script says it the same way)."""
    return f"{len(names)} selected: {', '.join(names)}" if names else "None selected"
