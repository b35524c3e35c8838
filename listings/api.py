from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from .filters import ListingFilter
from .ingest import ingest_listings
from .models import Category, Listing
from .validation import ALL_FIELDS, MAX_BATCH, MAX_PRICE, PRICE_PATTERN, REQUIRED, parse_batch


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Category
        fields = ["slug", "name", "parent"]


class ListingSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    condition = serializers.CharField(allow_null=True)
    distance_mi = serializers.SerializerMethodField()

    class Meta:
        model = Listing
        fields = [
            "id",
            "source",
            "external_id",
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
            "first_seen_at",
            "last_seen_at",
            "is_active",
            "deal_score",
            "deal_score_explanation",
            "distance_mi",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["condition"] = data["condition"] or None
        return data

    def get_distance_mi(self, instance) -> float | None:
        distance = getattr(instance, "distance_mi", None)
        return round(distance, 1) if distance is not None else None


class IngestRateThrottle(UserRateThrottle):
    scope = "ingest"


class CanIngest(permissions.BasePermission):
    """Staff, or a connector account holding `listings.ingest_listings` (with its API token)."""

    message = "Only staff or a connector with the ingest permission may post listings."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.is_staff or user.has_perm("listings.ingest_listings")))


_LISTING_INPUT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": list(REQUIRED),
    "properties": {
        "source": {"type": "string", "enum": ["facebook", "offerup", "craigslist", "ebay", "other"]},
        "external_id": {"type": "string", "minLength": 1, "maxLength": 100},
        "url": {"type": "string", "format": "uri", "maxLength": 500},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string", "maxLength": 10000},
        "price": {
            "oneOf": [
                {"type": "string", "pattern": PRICE_PATTERN, "example": "249.99"},
                {"type": "number", "minimum": 0, "maximum": float(MAX_PRICE), "multipleOf": 0.01},
            ],
            "description": 'A decimal string such as "249.99", or a JSON number with at most 2 decimal places.',
        },
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "default": "USD"},
        "category": {"type": "string", "description": "A category slug from GET /api/categories."},
        "condition": {"type": "string", "enum": ["new", "excellent", "good", "fair", "poor"], "nullable": True},
        "zip_code": {"type": "string", "pattern": r"^\d{5}$"},
        "image_url": {"type": "string", "format": "uri", "maxLength": 500},
        "seller": {"type": "string", "maxLength": 100},
        "posted_at": {"type": "string", "format": "date-time"},
        "deal_score": {"type": "number", "minimum": 0, "maximum": 1},
        "is_active": {"type": "boolean", "default": True},
    },
}
assert set(_LISTING_INPUT_SCHEMA["properties"]) == ALL_FIELDS

_INGEST_RESPONSE = inline_serializer(
    "IngestResult",
    {
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "repriced": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "ids": serializers.DictField(child=serializers.ListField(child=serializers.IntegerField())),
    },
)


class ListingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Search active listings; connectors `POST` batches of up to 1,000 listings."""

    serializer_class = ListingSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ListingFilter

    queryset = Listing.objects.select_related("category")

    def filter_queryset(self, queryset):
        # A sold listing stays readable by id; searches show active ones only.
        return queryset if self.action == "retrieve" else super().filter_queryset(queryset)

    def get_permissions(self):
        if self.action == "create":
            return [CanIngest()]
        return [permissions.AllowAny()]

    def get_throttles(self):
        # Connectors post batches on their own budget (THROTTLE_INGEST), apart from reading.
        if self.action == "create":
            return [IngestRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        request={
            "application/json": {"type": "array", "maxItems": MAX_BATCH, "minItems": 1, "items": _LISTING_INPUT_SCHEMA}
        },
        responses={200: _INGEST_RESPONSE, 400: OpenApiTypes.OBJECT},
        examples=[
            OpenApiExample(
                "One listing",
                request_only=True,
                value=[
                    {
                        "source": "craigslist",
                        "external_id": "7712",
                        "url": "https://sfbay.craigslist.org/7712.html",
                        "title": "ThinkPad T14 laptop",
                        "price": "249.99",
                        "category": "laptops",
                        "condition": "good",
                        "zip_code": "94103",
                    }
                ],
            )
        ],
    )
    def create(self, request):
        items, errors = parse_batch(request.data)
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        result = ingest_listings(items)
        return Response(result.as_dict(), status=status.HTTP_200_OK)


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Category.objects.select_related("parent").order_by("slug")
    serializer_class = CategorySerializer
    permission_classes = [permissions.AllowAny]
    pagination_class = None
    lookup_field = "slug"
    # What a SlugField holds; anything else is a 404 before it reaches the database
    # (PostgreSQL rejects a NUL byte in a query parameter with an error, i.e. a 500).
    lookup_value_regex = "[-a-zA-Z0-9_]+"
