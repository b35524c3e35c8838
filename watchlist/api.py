"""`/api/watchlist` (the list, sorted and filtered as the page is) and `/api/watchlist/items` (watch, retarget, remove).

Thin: the serializers check types, `watchlist.services` decides (its WatchError names the field),
`watchlist.selectors` reads; the "My watchlist" page calls the same functions.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response

from dealalerts.serializers import MAX_ID, ClosedSerializer, StrictIntegerField, StrictPriceField, valid
from listings.models import Listing

from . import selectors, services
from .models import WatchlistItem


class WatchInput(ClosedSerializer):
    listing_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    price_alert_threshold = StrictPriceField(
        required=False, allow_null=True, help_text="Tell me at or below this price; empty or null: any real drop."
    )


class ThresholdInput(ClosedSerializer):
    price_alert_threshold = StrictPriceField(allow_null=True, help_text="null clears the target: any real drop.")


class PricePointSerializer(serializers.Serializer):
    recorded_at = serializers.DateTimeField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)


class WatchedListingSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Listing
        fields = ["id", "title", "url", "price", "currency", "category", "image_url", "posted_at", "is_active"]


class WatchlistItemSerializer(serializers.ModelSerializer):
    listing = WatchedListingSerializer(read_only=True)
    current_price = serializers.DecimalField(source="listing.price", max_digits=12, decimal_places=2, read_only=True)
    price_alert_threshold = serializers.DecimalField(
        source="price_threshold", max_digits=12, decimal_places=2, allow_null=True, read_only=True
    )
    change_amount = serializers.SerializerMethodField(help_text="Current price minus the price when added.")
    change_percent = serializers.SerializerMethodField(help_text="The change as a percent of the price when added.")
    at_or_below_target = serializers.SerializerMethodField()
    status = serializers.CharField(read_only=True, help_text="watching, alerted or sold.")
    price_history = serializers.SerializerMethodField(help_text="The listing's price points, oldest first.")

    class Meta:
        model = WatchlistItem
        fields = [
            "id",
            "listing",
            "current_price",
            "price_alert_threshold",
            "added_price",
            "change_amount",
            "change_percent",
            "lowest_price",
            "at_or_below_target",
            "status",
            "created_at",
            "last_alerted_at",
            "price_history",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_change_amount(self, item: WatchlistItem) -> str:
        return f"{item.listing.price - item.added_price:.2f}"

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_change_percent(self, item: WatchlistItem) -> str:
        return f"{selectors.change_percent(item):.1f}"

    def get_at_or_below_target(self, item: WatchlistItem) -> bool:
        return selectors.at_or_below(item)

    @extend_schema_field(PricePointSerializer(many=True))
    def get_price_history(self, item: WatchlistItem) -> list[dict]:
        points = getattr(item.listing, "history", None)
        if points is None:  # an item not read through the selector (never in a list: no query per row)
            points = list(item.listing.price_points.order_by("recorded_at", "id"))
        return PricePointSerializer(points, many=True).data


def _watch_error(error: services.WatchError) -> serializers.ValidationError:
    return serializers.ValidationError({error.field: [error.message]})


def _read_back(user, item: WatchlistItem) -> WatchlistItem:
    """The item as the list shows it (change, history), after a write."""
    return selectors.watchlist_items(user).get(pk=item.pk)


@extend_schema(
    parameters=[
        OpenApiParameter("sort", str, enum=list(selectors.SORTS), description=selectors.SORT_HELP),
        OpenApiParameter("category", str, description="A category slug; its subcategories are included."),
        OpenApiParameter("at_or_below_target", bool, description="Only items whose price has reached their target."),
    ]
)
class WatchlistViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The user's watched listings with their price history. A bad `sort` or filter is a 400 naming it."""

    serializer_class = WatchlistItemSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        query = selectors.parse_query(self.request.query_params)
        if query.errors:
            raise serializers.ValidationError({name: [message] for name, message in query.errors.items()})
        return selectors.watchlist_items(self.request.user, query)


class WatchlistItemViewSet(viewsets.GenericViewSet):
    """Watch a listing (again: changes the target), change or clear a target, stop watching.

    Another user's item is a 404.
    """

    serializer_class = WatchlistItemSerializer
    permission_classes = [permissions.IsAuthenticated]
    lookup_url_kwarg = "watchlist_item_id"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return WatchlistItem.objects.filter(user=self.request.user).select_related("listing")

    def get_object(self) -> WatchlistItem:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["watchlist_item_id"])

    @extend_schema(request=WatchInput, responses={200: WatchlistItemSerializer, 201: WatchlistItemSerializer})
    def create(self, request):
        """201 for a newly watched listing; 200 when already watched (its target is updated)."""
        data = valid(WatchInput, request.data)
        listing = Listing.objects.filter(pk=data["listing_id"]).first()
        try:
            item, created = services.watch(request.user, listing, data.get("price_alert_threshold"))
        except services.WatchError as error:
            raise _watch_error(error) from error
        body = self.get_serializer(_read_back(request.user, item)).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=ThresholdInput, responses={200: WatchlistItemSerializer})
    def partial_update(self, request, watchlist_item_id=None):
        item = self.get_object()
        data = valid(ThresholdInput, request.data)
        try:
            services.set_threshold(item, data["price_alert_threshold"])
        except services.WatchError as error:
            raise _watch_error(error) from error
        return Response(self.get_serializer(_read_back(request.user, item)).data)

    def destroy(self, request, watchlist_item_id=None):
        services.unwatch(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
