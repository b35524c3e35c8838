"""`/api/watchlist`: the seed's three endpoints, plus PATCH to change a target.

    GET    /api/watchlist                     your items (sort, category, at_or_below_target; paginated)
    POST   /api/watchlist/items               {"listing_id", "price_alert_threshold"} (again: updates it)
    GET    /api/watchlist/items/{id}          one item
    PATCH  /api/watchlist/items/{id}          {"price_alert_threshold"} (null: any drop)
    DELETE /api/watchlist/items/{id}          another user's is a 404

The rules (a target below the price, an active listing, 500 items) live in `services.watch`;
sorting and filtering in `selectors`, shared with the page.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from listings.models import Listing

from . import selectors, services
from .models import WatchlistItem


class PricePointSerializer(serializers.Serializer):
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    recorded_at = serializers.DateTimeField()


class WatchedListingSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Listing
        fields = ["id", "title", "price", "currency", "url", "image_url", "category", "is_active", "deal_score"]
        read_only_fields = fields


class WatchlistItemSerializer(serializers.ModelSerializer):
    listing = WatchedListingSerializer(read_only=True)
    price_alert_threshold = serializers.DecimalField(
        source="price_threshold", max_digits=12, decimal_places=2, read_only=True, allow_null=True
    )
    current_price = serializers.DecimalField(source="listing.price", max_digits=12, decimal_places=2, read_only=True)
    change_amount = serializers.SerializerMethodField(help_text="Current price − price when added.")
    change_percent = serializers.SerializerMethodField(help_text="The change as a percent of the price when added.")
    status = serializers.CharField(read_only=True, help_text="watching, alerted or sold.")
    at_or_below_target = serializers.SerializerMethodField()
    price_history = serializers.SerializerMethodField()

    class Meta:
        model = WatchlistItem
        fields = [
            "id",
            "listing",
            "price_alert_threshold",
            "current_price",
            "added_price",
            "change_amount",
            "change_percent",
            "lowest_price",
            "status",
            "at_or_below_target",
            "alert_sent",
            "last_alert_price",
            "last_alerted_at",
            "created_at",
            "price_history",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_change_amount(self, item: WatchlistItem) -> str:
        return f"{item.listing.price - item.added_price:.2f}"  # a string, as the other amounts are

    def get_change_percent(self, item: WatchlistItem) -> float:
        if not item.added_price:
            return 0.0
        return round(float((item.listing.price - item.added_price) / item.added_price * 100), 1)

    def get_at_or_below_target(self, item: WatchlistItem) -> bool:
        return selectors.at_or_below(item)

    @extend_schema_field(PricePointSerializer(many=True))
    def get_price_history(self, item: WatchlistItem) -> list[dict]:
        points = getattr(item.listing, "history", None)
        if points is None:
            points = list(item.listing.price_points.order_by("recorded_at", "id"))
        return PricePointSerializer(points, many=True).data


class WatchRequestSerializer(serializers.Serializer):
    listing_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    price_alert_threshold = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="Tell me when the price reaches this (below the current price); null or absent: any real drop.",
    )


class ThresholdSerializer(serializers.Serializer):
    price_alert_threshold = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


def _raise(error: services.WatchError):
    raise ValidationError({error.field: [error.message]})


LIST_PARAMETERS = [
    OpenApiParameter("sort", OpenApiTypes.STR, enum=list(selectors.SORTS), description="Default: added (newest)."),
    OpenApiParameter("category", OpenApiTypes.STR, description="A category slug; its subcategories too."),
    OpenApiParameter("at_or_below_target", OpenApiTypes.BOOL, description="Only items at or below their target."),
]


class WatchlistViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your watchlist: each item's price now, the change since you added it, its lowest price and history."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = WatchlistItemSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WatchlistItem.objects.none()
        query = selectors.parse_query(self.request.query_params)
        if query.errors:
            raise ValidationError({name: [message] for name, message in query.errors.items()})
        return selectors.watchlist_items(self.request.user, query)

    @extend_schema(parameters=LIST_PARAMETERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class WatchlistItemViewSet(
    mixins.RetrieveModelMixin, mixins.DestroyModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Watch a listing, change its target, stop watching."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = WatchlistItemSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WatchlistItem.objects.none()
        return selectors.watchlist_items(self.request.user)

    @extend_schema(
        request=WatchRequestSerializer, responses={201: WatchlistItemSerializer, 200: WatchlistItemSerializer}
    )
    def create(self, request, *args, **kwargs):
        """Watch a listing; watching it again changes the target (200 instead of 201)."""
        data = WatchRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        listing = Listing.objects.filter(pk=data.validated_data["listing_id"]).first()
        try:
            item, created = services.watch(request.user, listing, data.validated_data.get("price_alert_threshold"))
        except services.WatchError as error:
            _raise(error)
        item = self.get_queryset().get(pk=item.pk)
        return Response(
            self.get_serializer(item).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(request=ThresholdSerializer, responses=WatchlistItemSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Change the target; null means any real drop."""
        item = self.get_object()
        data = ThresholdSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.set_threshold(item, data.validated_data["price_alert_threshold"])
        except services.WatchError as error:
            _raise(error)
        return Response(self.get_serializer(self.get_queryset().get(pk=item.pk)).data)

    def perform_destroy(self, instance: WatchlistItem) -> None:
        services.unwatch(instance)
