"""`/api/deal-alert-rules`: the roadmap's eight endpoints.

`DealAlertRuleSerializer` is the one validation of a rule: the API and the
"My alerts" pages both use it, so they cannot disagree.
"""

from decimal import Decimal

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.geo import lookup_zip
from listings.api import ListingSerializer
from listings.models import Category, Condition
from notifications.models import CHANNELS
from notifications.policy import ChannelChoice, usable_channels
from notifications.preferences import channel_preferences

from . import services
from .matching import phrase
from .models import DealAlertRule

MAX_KEYWORDS = 20
MAX_KEYWORD_LENGTH = 60
MAX_CATEGORIES = 20


class KeywordList(serializers.ListField):
    child = serializers.CharField(max_length=MAX_KEYWORD_LENGTH, allow_blank=False, trim_whitespace=True)
    max_length = MAX_KEYWORDS

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_KEYWORDS)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, list) and not all(isinstance(value, str) for value in data):
            raise serializers.ValidationError("Must be a list of strings.")
        values = super().to_internal_value(data)
        for value in values:
            if not phrase(value):
                raise serializers.ValidationError(f'"{value}" has no letters or digits to match.')
        return list({phrase(value): value for value in reversed(values)}.values())[::-1]  # drop repeats, keep order


def _criteria(meta) -> tuple[str, ...]:
    """What a rule matches on: every field a user writes but these (excluded keywords alone only veto)."""
    not_criteria = {"name", "enabled", "exclude_keywords", "notification_channels"}
    return tuple(f for f in meta.fields if f not in meta.read_only_fields and f not in not_criteria)


class DealAlertRuleSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=100, allow_blank=False, trim_whitespace=True)
    keywords = KeywordList()
    exclude_keywords = KeywordList()
    categories = serializers.ListField(child=serializers.CharField(), required=False, max_length=MAX_CATEGORIES)
    condition = serializers.ChoiceField(choices=Condition.choices, required=False, allow_blank=True, allow_null=True)
    min_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False, allow_null=True
    )
    max_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False, allow_null=True
    )
    location = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=5,
        help_text="A 5-digit US ZIP code; without radius_mi, 25 miles around it.",
    )
    radius_mi = serializers.IntegerField(
        min_value=1,
        max_value=500,
        required=False,
        allow_null=True,
        help_text="Miles; without a location, around your home ZIP.",
    )
    min_deal_score = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)
    notification_channels = serializers.ListField(
        child=serializers.ChoiceField(choices=CHANNELS),
        required=False,
        max_length=len(CHANNELS),
        help_text="Empty: your preferred channels.",
    )
    delivery_channels = serializers.SerializerMethodField(
        help_text="The channels a match goes to now: the rule's that are on and set up in your settings; when none "
        "is, your own channels instead. Empty: no channel can reach you (see channel_notes)."
    )
    channel_notes = serializers.SerializerMethodField(
        help_text="Why delivery_channels differ from the rule's, e.g. \"SMS is not set up, so we will tell you "
        'by email."; empty when they do not.'
    )

    class Meta:
        model = DealAlertRule
        fields = [
            "id",
            "name",
            "enabled",
            "keywords",
            "exclude_keywords",
            "categories",
            "condition",
            "min_price",
            "max_price",
            "location",
            "radius_mi",
            "min_deal_score",
            "notification_channels",
            "delivery_channels",
            "channel_notes",
            "created_at",
            "updated_at",
            "last_triggered_at",
        ]
        read_only_fields = ["id", "delivery_channels", "channel_notes", "created_at", "updated_at", "last_triggered_at"]

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            read_only = sorted(name for name in set(data) & set(self.fields) if self.fields[name].read_only)
            if unknown or read_only:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown} | {name: ["Read-only field."] for name in read_only}
                )
        return super().to_internal_value(data)

    def _channel_choice(self, rule: DealAlertRule) -> ChannelChoice:
        """The policy's answer for this rule; the user's preferences are read once per response, not per rule."""
        if "channel_preferences" not in self.context:  # shared by every rule of a list
            request = self.context.get("request")
            self.context["channel_preferences"] = channel_preferences(request.user if request else rule.user)
        return usable_channels(tuple(rule.notification_channels), self.context["channel_preferences"])

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=CHANNELS)))
    def get_delivery_channels(self, rule: DealAlertRule) -> list[str]:
        return list(self._channel_choice(rule).channels)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_channel_notes(self, rule: DealAlertRule) -> list[str]:
        sentence = self._channel_choice(rule).sentence
        return [sentence] if sentence else []

    def validate_categories(self, slugs: list[str]) -> list[str]:
        known = set(Category.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        unknown = [slug for slug in slugs if slug not in known]
        if unknown:
            raise serializers.ValidationError(f"Unknown category: {', '.join(unknown)}; see GET /api/categories.")
        return list(dict.fromkeys(slugs))

    def validate_condition(self, value: str | None) -> str:
        return value or ""

    def validate_location(self, value: str | None) -> str:
        value = (value or "").strip()
        if value and lookup_zip(value) is None:
            raise serializers.ValidationError("Unknown US ZIP code; enter 5 digits such as 94103.")
        return value

    def validate_notification_channels(self, channels: list[str]) -> list[str]:
        repeated = sorted({c for c in channels if channels.count(c) > 1})
        if repeated:
            raise serializers.ValidationError(f"Repeated channel: {', '.join(repeated)}.")
        return channels

    CRITERIA = _criteria(Meta)

    def validate(self, attrs: dict) -> dict:
        merged = {}
        if self.instance is not None:  # PATCH: judge the rule as it will be, not just the change
            merged = {f: getattr(self.instance, f) for f in self.Meta.fields if f not in self.Meta.read_only_fields}
        merged.update(attrs)
        if errors := self._rule_errors(merged, check_criteria=True):
            raise serializers.ValidationError(errors)
        return attrs

    def run_validation(self, data=serializers.empty):
        """All the errors in one answer: DRF checks the whole rule only once every field is valid, so
        "min above max" would otherwise wait until a bad name was fixed."""
        try:
            return super().run_validation(data)
        except serializers.ValidationError as error:
            if not isinstance(error.detail, dict) or not isinstance(data, dict):
                raise
            valid = self._valid_values(data, error.detail)
            # A criterion that was given but is invalid has its own error; "give at least one
            # criterion" is for a rule whose criteria are all valid and all empty (an empty form).
            tried_a_criterion = any(name in error.detail for name in self.CRITERIA)
            for name, messages in self._rule_errors(valid, check_criteria=not tried_a_criterion).items():
                error.detail.setdefault(name, [serializers.ErrorDetail(m, code="invalid") for m in messages])
            raise

    def _valid_values(self, data: dict, errors: dict) -> dict:
        """The fields that passed, as validated values; the stored rule's for the rest on a PATCH."""
        values = {}
        if self.instance is not None:
            values = {f: getattr(self.instance, f) for f in self.Meta.fields if f not in self.Meta.read_only_fields}
        for name, field in self.fields.items():
            if field.read_only or name in errors or name not in data:
                continue
            try:
                values[name] = field.run_validation(data[name])
            except serializers.ValidationError:
                continue
        return {name: value for name, value in values.items() if name not in errors}

    def _rule_errors(self, rule: dict, *, check_criteria: bool) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        low, high = rule.get("min_price"), rule.get("max_price")
        if low is not None and high is not None and low > high:
            errors["max_price"] = ["Must be at least the minimum price."]
        if rule.get("radius_mi") and not rule.get("location"):
            user = self.context["request"].user
            if not lookup_zip(getattr(user, "home_zip", "") or ""):
                errors["radius_mi"] = ["Give a location, or set a home ZIP code in your profile to measure from."]
        if check_criteria and not any(rule.get(name) not in (None, "", []) for name in self.CRITERIA):
            errors["non_field_errors"] = [
                "Give the rule at least one criterion: keywords, a category, a condition, "
                "a price, a location or a minimum deal score."
            ]
        return errors


class MatchSampleSerializer(serializers.Serializer):
    listing = ListingSerializer()
    why = serializers.DictField()
    explanation = serializers.CharField()


class BacktestSerializer(serializers.Serializer):
    matching_count = serializers.IntegerField()
    window_days = serializers.IntegerField()
    per_day_estimate = serializers.FloatField()
    sample_matches = MatchSampleSerializer(many=True)


def backtest_payload(result: services.Backtest) -> dict:
    return {
        "matching_count": result.matching_count,
        "window_days": result.window_days,
        "per_day_estimate": result.per_day_estimate,
        "sample_matches": [
            {"listing": ListingSerializer(listing).data, "why": why.as_dict(), "explanation": why.sentence()}
            for listing, why in result.samples
        ],
    }


class DealAlertRuleViewSet(viewsets.ModelViewSet):
    """A user's deal alert rules. Another user's rule is a 404."""

    serializer_class = DealAlertRuleSerializer
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_url_kwarg = "rule_id"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return DealAlertRule.objects.filter(user=self.request.user).order_by("-created_at", "-id")

    def get_object(self) -> DealAlertRule:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["rule_id"])

    def perform_create(self, serializer):
        try:
            serializer.instance = services.create_rule(self.request.user, **serializer.validated_data)
        except services.RuleLimitReached as error:
            raise serializers.ValidationError({"non_field_errors": [str(error)]}) from error

    def perform_update(self, serializer):
        serializer.instance = services.update_rule(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_rule(instance)

    @extend_schema(request=None, responses={200: BacktestSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, rule_id=None):
        """Backtest: how many listings of the last 30 days this rule matches, a sample, and a per-day estimate."""
        return Response(backtest_payload(services.backtest(self.get_object())))

    @extend_schema(request=None, responses={200: DealAlertRuleSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, rule_id=None):
        return Response(self.get_serializer(services.set_enabled(self.get_object(), False)).data)

    @extend_schema(request=None, responses={200: DealAlertRuleSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, rule_id=None):
        return Response(self.get_serializer(services.set_enabled(self.get_object(), True)).data)
