"""Listing search filters, one FilterSet for the browse page and `GET /api/listings`."""

from decimal import Decimal

import django_filters
from django import forms

from accounts.geo import lookup_zip

from .models import Category, Condition, Listing
from .selectors import category_subtree_ids, has_phrase, within_radius
from .text import query_phrases

DEFAULT_RADIUS_MI = 25
SORTS = {
    "newest": ("-first_seen_at", "-id"),
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "deal": ("-deal_score", "-first_seen_at", "-id"),
    "distance": ("distance_mi", "id"),
}


class ListingFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", "Must be at least the minimum price.")
        if data.get("radius_mi") is not None and not data.get("zip"):
            self.add_error("zip", "Enter a ZIP code to search within a radius.")
        if data.get("sort") == "distance" and not data.get("zip"):
            self.add_error("sort", "Enter a ZIP code to sort by distance.")
        return data

    def clean_zip(self) -> str:
        value = (self.cleaned_data.get("zip") or "").strip()
        if value and lookup_zip(value) is None:
            raise forms.ValidationError("Unknown US ZIP code; enter 5 digits such as 94103.")
        return value


class ListingFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_keywords", label="Keywords", max_length=200)
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), to_field_name="slug", method="filter_category", label="Category"
    )
    condition = django_filters.ChoiceFilter(choices=Condition.choices, label="Condition", empty_label="Any condition")
    min_price = django_filters.NumberFilter(
        field_name="price",
        lookup_expr="gte",
        min_value=Decimal(0),
        max_digits=12,
        decimal_places=2,
        label="Minimum price",
    )
    max_price = django_filters.NumberFilter(
        field_name="price",
        lookup_expr="lte",
        min_value=Decimal(0),
        max_digits=12,
        decimal_places=2,
        label="Maximum price",
    )
    zip = django_filters.CharFilter(method="filter_noop", label="ZIP code", max_length=5)
    radius_mi = django_filters.NumberFilter(
        method="filter_noop",
        min_value=1,
        max_value=500,
        label="Within (miles)",
        help_text=f"Defaults to {DEFAULT_RADIUS_MI} miles when a ZIP is given.",
    )
    min_deal_score = django_filters.NumberFilter(
        field_name="deal_score", lookup_expr="gte", min_value=0, max_value=1, label="Minimum deal score"
    )
    sort = django_filters.ChoiceFilter(
        choices=[
            ("newest", "Newest"),
            ("price", "Price: low to high"),
            ("-price", "Price: high to low"),
            ("deal", "Best deal"),
            ("distance", "Nearest"),
        ],
        method="filter_noop",
        label="Sort",
        empty_label=None,
    )

    class Meta:
        model = Listing
        fields = ["q", "category", "condition", "min_price", "max_price", "zip", "radius_mi", "min_deal_score"]
        form = ListingFilterForm

    def filter_noop(self, queryset, name, value):
        return queryset  # applied together in filter_queryset

    def filter_keywords(self, queryset, name, value):
        # Every term, as whole folded words: the words an alert keyword matches (README).
        for phrase in query_phrases(value):
            queryset = queryset.filter(has_phrase(phrase))
        return queryset

    def filter_category(self, queryset, name, value):
        return queryset.filter(category_id__in=category_subtree_ids(value))

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset.filter(is_active=True))
        data = self.form.cleaned_data
        if data.get("zip"):
            radius = data.get("radius_mi") or DEFAULT_RADIUS_MI
            queryset = within_radius(queryset, lookup_zip(data["zip"]), float(radius))
        return queryset.order_by(*SORTS[data.get("sort") or "newest"])
