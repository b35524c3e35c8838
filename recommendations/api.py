"""`/api/recommendations` (ten deals with reasons), `/api/recommendations/reason` (why one listing),
`/api/recommendations/dismissals` ("not interested") and `/api/purchases` ("I bought this").

Thin: `recommendations.services` decides; the For you page calls the same functions.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from dealalerts.serializers import MAX_ID, ClosedSerializer, StrictIntegerField, valid
from listings.models import Listing

from . import services
from .models import Purchase, Surface


class SignalSerializer(serializers.Serializer):
    signal = serializers.CharField(
        help_text="browsing, saved, purchases, category_affinity, similar_users, not_interested, popular, deal, "
        "freshness or distance."
    )
    label = serializers.CharField(help_text="The signal in words.")
    weight = serializers.FloatField(help_text="Its part of the score (the parts add up to the score).")


class RecommendedListingSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Listing
        fields = [
            "id",
            "title",
            "url",
            "price",
            "currency",
            "category",
            "condition",
            "zip_code",
            "image_url",
            "seller",
            "deal_score",
            "deal_score_explanation",
            "first_seen_at",
        ]
        read_only_fields = fields


class RecommendationSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    score = serializers.FloatField()
    reason = serializers.CharField()
    signals = SignalSerializer(many=True)
    listing = RecommendedListingSerializer()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()
    signals = SignalSerializer(many=True)


class ReasonQuery(ClosedSerializer):
    listing_id = StrictIntegerField(min_value=1, max_value=MAX_ID)


class ListingInput(ClosedSerializer):
    listing_id = StrictIntegerField(min_value=1, max_value=MAX_ID)


def _listing(listing_id: int, **filters) -> Listing:
    listing = Listing.objects.filter(pk=listing_id, **filters).first()
    if listing is None:
        raise serializers.ValidationError({"listing_id": ["No such listing."]})
    return listing


def _fits(listing_id: str) -> bool:
    """An id from the path that the database's integer can hold (a longer one is simply not found)."""
    return int(listing_id) <= MAX_ID


class RecommendationViewSet(viewsets.GenericViewSet):
    """Ten active deals for the signed-in user, each with its score and the reason in words and parts.

    Never sold, stale, already bought, dismissed, watched or alerted today; at most three from one
    category. A user with no history gets good deals near their home ZIP in popular categories.
    """

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = RecommendationSerializer
    pagination_class = None

    def list(self, request):
        shown = services.recommendations_for(request.user, surface=Surface.API)
        return Response(RecommendationSerializer(shown, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("listing_id", int, required=True)],
        responses={200: ReasonSerializer},
    )
    @action(detail=False, methods=["get"])
    def reason(self, request):
        """Why a listing is (or would be) recommended to you: any active listing; unknown → 404."""
        query = valid(ReasonQuery, request.query_params)
        listing = get_object_or_404(Listing, pk=query["listing_id"], is_active=True)
        explanation = services.explain(request.user, listing)
        return Response(ReasonSerializer(explanation).data)


class DismissalViewSet(viewsets.GenericViewSet):
    """ "Not interested": the listing leaves your recommendations and what resembles it weighs less."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = ListingInput
    lookup_url_kwarg = "listing_id"
    lookup_value_regex = r"\d+"

    @extend_schema(request=ListingInput, responses={201: ListingInput, 200: ListingInput})
    def create(self, request):
        """201 when newly dismissed; 200 when it already was."""
        data = valid(ListingInput, request.data)
        listing = _listing(data["listing_id"])
        created = not services.is_dismissed(request.user, listing.id)
        services.dismiss(request.user, listing)
        return Response({"listing_id": listing.id}, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def destroy(self, request, listing_id=None):
        """Interested again (Undo); 404 when it was not dismissed."""
        if not _fits(listing_id) or not services.undo_dismissal(request.user, int(listing_id)):
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PurchaseSerializer(serializers.ModelSerializer):
    listing = RecommendedListingSerializer(read_only=True)

    class Meta:
        model = Purchase
        fields = ["listing", "created_at"]
        read_only_fields = fields


class PurchaseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """ "I bought this": what you bought is never recommended, and what it says of your taste counts."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = PurchaseSerializer
    lookup_url_kwarg = "listing_id"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return (
            Purchase.objects.filter(user=self.request.user)
            .select_related("listing__category")
            .order_by("-created_at", "-id")
        )

    @extend_schema(request=ListingInput, responses={201: PurchaseSerializer, 200: PurchaseSerializer})
    def create(self, request):
        """201 when newly marked; 200 when it already was."""
        data = valid(ListingInput, request.data)
        purchase, created = services.mark_bought(request.user, _listing(data["listing_id"]))
        purchase = self.get_queryset().get(pk=purchase.pk)
        body = self.get_serializer(purchase).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def destroy(self, request, listing_id=None):
        """Not bought after all; 404 when it was not marked."""
        if not _fits(listing_id) or not services.unmark_bought(request.user, int(listing_id)):
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)
