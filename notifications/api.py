"""Notification preferences and history over the API. These serializers are the one validation:
the settings pages validate through them too."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.rate_limits import client_address
from listings.models import Category

from . import channels, discord_webhook, phone, preferences, push_subscriptions, test_sends
from .channels import SETUP_HINTS
from .models import (
    CHANNEL_LABELS,
    CHANNELS,
    Address,
    Delivery,
    Frequency,
    Notification,
    NotificationPreferences,
    Weekday,
)

HH_MM = ["%H:%M"]
MAX_CATEGORY_FILTERS = 50


def _duplicates(values: list) -> list:
    seen, repeated = set(), []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": [day.label.lower() for day in Weekday]},
            {"type": "integer", "minimum": 0, "maximum": 6},
        ]
    }
)
class WeekdayField(serializers.Field):
    """A weekday as 0–6 (Monday first) or its English name; shown as the name."""

    default_error_messages = {"invalid": "Give a weekday: monday … sunday, or 0 (Monday) … 6 (Sunday)."}
    NAMES = [day.label.lower() for day in Weekday]

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int) and 0 <= data <= 6:
            return data
        if isinstance(data, str) and data.strip().lower() in self.NAMES:
            return self.NAMES.index(data.strip().lower())
        self.fail("invalid")

    def to_representation(self, value):
        return self.NAMES[value]


class ChannelsSerializer(serializers.ModelSerializer):
    channels = serializers.ListField(child=serializers.ChoiceField(choices=CHANNELS), max_length=len(CHANNELS))
    sms_urgent_only = serializers.BooleanField(
        required=False, help_text="Texts only for urgent deals; the others go by your other channels."
    )

    class Meta:
        model = NotificationPreferences
        fields = ["channels", "sms_urgent_only"]

    def validate_channels(self, value: list[str]) -> list[str]:
        if repeated := _duplicates(value):
            raise serializers.ValidationError(f"“{repeated[0]}” is listed more than once.")
        prefs: NotificationPreferences = self.instance
        problems = preferences.unreachable_because(prefs.user, prefs, list(prefs.user.addresses.all()))
        if preferences.email_awaiting_confirmation(prefs.user, prefs):
            problems["email"] = ""  # it may stay on: it starts working once the address is confirmed
        for channel in value:
            if problems[channel] == "not set up":
                raise serializers.ValidationError(f"{CHANNEL_LABELS[channel]} is not set up: {SETUP_HINTS[channel]}.")
            if problems[channel] and channel not in prefs.channels:
                raise serializers.ValidationError(f"{CHANNEL_LABELS[channel]} is {problems[channel]}.")
        return [c for c in CHANNELS if c in value]

    def update(self, instance, validated_data):
        if "email" in validated_data["channels"]:
            instance.email_unsubscribed_at = None  # turned back on by the user
        return super().update(instance, validated_data)


class FrequencySerializer(serializers.ModelSerializer):
    frequency = serializers.ChoiceField(choices=Frequency.choices)
    time = serializers.TimeField(
        source="digest_time", input_formats=HH_MM, format="%H:%M", required=False, allow_null=True
    )
    weekday = WeekdayField(source="digest_weekday", required=False, allow_null=True)

    class Meta:
        model = NotificationPreferences
        fields = ["frequency", "time", "weekday"]


class QuietHoursSerializer(serializers.ModelSerializer):
    start_time = serializers.TimeField(source="quiet_hours_start", input_formats=HH_MM, format="%H:%M", allow_null=True)
    end_time = serializers.TimeField(source="quiet_hours_end", input_formats=HH_MM, format="%H:%M", allow_null=True)
    urgent_in_quiet_hours = serializers.BooleanField(required=False)

    class Meta:
        model = NotificationPreferences
        fields = ["start_time", "end_time", "urgent_in_quiet_hours"]

    def validate(self, attrs):
        start, end = attrs.get("quiet_hours_start"), attrs.get("quiet_hours_end")
        if (start is None) != (end is None):
            missing = "start_time" if start is None else "end_time"
            message = "Give both times, or null for both to turn quiet hours off."
            raise serializers.ValidationError({missing: [ErrorDetail(message, code="quiet_hours_incomplete")]})
        if start is not None and start == end:
            raise serializers.ValidationError({"end_time": ["The end must differ from the start."]})
        return attrs


class CategoriesSerializer(serializers.ModelSerializer):
    """`category_filters` (the stored name) or `categories` (the path's name): one of the two."""

    NAMES = ("category_filters", "categories")
    category_filters = serializers.ListField(
        child=serializers.SlugField(),
        max_length=MAX_CATEGORY_FILTERS,
        required=False,
        help_text="Category slugs; empty: all. Give this or `categories`, not both.",
    )
    categories = serializers.ListField(
        child=serializers.SlugField(),
        max_length=MAX_CATEGORY_FILTERS,
        required=False,
        write_only=True,
        help_text="The same as `category_filters`, named as the path is. Give this or `category_filters`.",
    )

    class Meta:
        model = NotificationPreferences
        fields = ["category_filters", "categories"]

    def validate(self, attrs: dict) -> dict:
        given = [name for name in self.NAMES if name in attrs]
        if len(given) == 2:
            message = "Give either categories or category_filters, not both."
            raise serializers.ValidationError({name: [message] for name in self.NAMES})
        if not given:
            raise serializers.ValidationError({"category_filters": ["Give category_filters (or categories)."]})
        return {"category_filters": attrs[given[0]]}

    def validate_categories(self, value: list[str]) -> list[str]:
        return self.validate_category_filters(value)

    def validate_category_filters(self, value: list[str]) -> list[str]:
        if repeated := _duplicates(value):
            raise serializers.ValidationError(f"“{repeated[0]}” is listed more than once.")
        known = set(Category.objects.filter(slug__in=value).values_list("slug", flat=True))
        unknown = [slug for slug in value if slug not in known]
        if unknown:
            raise serializers.ValidationError(f"Unknown category: {', '.join(unknown)}.")
        return value


class MaxPerDaySerializer(serializers.ModelSerializer):
    max_per_day = serializers.IntegerField(min_value=1, max_value=100)

    class Meta:
        model = NotificationPreferences
        fields = ["max_per_day"]


SECTIONS: dict[str, type[serializers.ModelSerializer]] = {
    "channels": ChannelsSerializer,
    "frequency": FrequencySerializer,
    "quiet-hours": QuietHoursSerializer,
    "categories": CategoriesSerializer,
    "max-per-day": MaxPerDaySerializer,
}


class AddressStateSerializer(serializers.Serializer):
    channel = serializers.CharField()
    channel_label = serializers.CharField()
    label = serializers.CharField(help_text="The address as shown: an email, a masked phone number.")
    verified_at = serializers.DateTimeField(allow_null=True)
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(help_text="The provider's answer that made us stop using it.")
    problem = serializers.CharField(help_text='Why it cannot be used now, e.g. "not verified yet"; "" when it can.')


class TestSendRequestSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=CHANNELS)


class TestSendSerializer(serializers.Serializer):
    channel = serializers.CharField()
    sent = serializers.BooleanField()
    answer = serializers.CharField(help_text="What the provider said, in words.")


class SummarySerializer(serializers.Serializer):
    """What `preferences.preferences_summary` returns (documented for the schema)."""

    channels = serializers.ListField(child=serializers.CharField())
    verified_channels = serializers.ListField(child=serializers.CharField())
    usable_channels = serializers.ListField(
        child=serializers.CharField(), help_text="The channels deals reach you on now: on, and set up."
    )
    channel_problems = serializers.ListField(
        child=serializers.CharField(),
        help_text='Why a channel you turned on cannot reach you, e.g. "Email is not confirmed yet".',
    )
    frequency = serializers.CharField()
    digest_time = serializers.CharField()
    digest_weekday = serializers.CharField()
    quiet_hours = serializers.DictField()
    category_filters = serializers.ListField(child=serializers.CharField())
    max_per_day = serializers.IntegerField()
    sent_today = serializers.IntegerField()
    remaining_today = serializers.IntegerField()
    time_zone = serializers.CharField()
    next_digest_at = serializers.DateTimeField(allow_null=True)
    email = serializers.DictField()
    sms_urgent_only = serializers.BooleanField()
    addresses = AddressStateSerializer(many=True, help_text="Where each channel reaches you, and whether it still can.")


class StringField(serializers.CharField):
    """A CharField that takes only a JSON string (DRF's would read 5551234567 or true as text)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class PhoneNumberSerializer(serializers.Serializer):
    phone_number = StringField(
        allow_blank=True,
        trim_whitespace=False,
        help_text="A mobile number: +1 201 555 0123, or (201) 555-0123 for the first allowed country.",
    )


class PhoneCodeSerializer(serializers.Serializer):
    otp = StringField(allow_blank=True, help_text="The 6-digit code texted to the phone.")


class PhoneSerializer(serializers.Serializer):
    phone_number = serializers.CharField(allow_null=True, help_text="E.164, shown in full to its owner only.")
    verified = serializers.BooleanField()


class PhoneCodeSentSerializer(PhoneSerializer):
    detail = serializers.CharField()
    resend_after = serializers.IntegerField(help_text="Seconds until another code may be asked for.")
    expires_in = serializers.IntegerField(help_text="Seconds the code can be entered for.")


def phone_body(status_: phone.PhoneStatus) -> dict:
    return {"phone_number": status_.phone_number or None, "verified": status_.verified}


class TooMany(exceptions.APIException):
    """429 with Retry-After (DRF's handler sets the header from `wait`), in the service's own words:
    for a limit a service refused with (codes texted, test messages), carrying its `retry_after`."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"

    def __init__(self, refused: phone.CodeLimitReached | test_sends.TooManyTests) -> None:
        super().__init__(str(refused))
        self.wait = refused.retry_after


def _field_errors(error: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(error.message_dict)


class DiscordWebhookRequestSerializer(serializers.Serializer):
    webhook_url = StringField(
        trim_whitespace=False,
        max_length=300,
        help_text="The URL Discord shows for a channel's webhook: https://discord.com/api/webhooks/{id}/{token}"
        " (discordapp.com, ptb.discord.com and canary.discord.com are accepted too).",
    )


class DiscordWebhookSerializer(serializers.Serializer):
    webhook_url = serializers.CharField(help_text="Masked: the webhook's id shown, its token hidden.")
    webhook_id = serializers.CharField()
    added_at = serializers.DateTimeField()
    disabled_reason = serializers.CharField(help_text="Why Discord stopped taking it; empty while it works.")
    last_error = serializers.CharField()


class DiscordTestSerializer(serializers.Serializer):
    sent = serializers.BooleanField()
    message_id = serializers.CharField(allow_null=True, help_text="The id of the message Discord made, when sent.")
    answer = serializers.CharField(help_text="What Discord answered, in words (its error, when refused).")


def discord_body(status_: discord_webhook.WebhookStatus | None) -> dict | None:
    if status_ is None:
        return None
    return {
        "webhook_url": status_.masked,
        "webhook_id": status_.webhook_id,
        "added_at": status_.added_at,
        "disabled_reason": status_.disabled_reason,
        "last_error": status_.last_error,
    }


class DiscordWebhookActions:
    """`…/discord-webhook`: your Discord webhook (at most one): register, show, test, remove. Only ever
    your own: there are no ids in these URLs."""

    @extend_schema(
        methods=["GET"],
        summary="Your Discord webhook, masked, or null",
        responses=OpenApiResponse(DiscordWebhookSerializer, description="null when you have none"),
    )
    @extend_schema(
        methods=["POST"],
        summary="Register a Discord webhook: deals can go to that channel (nothing is sent now)",
        description="Replaces the webhook you had. Only Discord's own webhook URLs; turn Discord on under channels.",
        request=DiscordWebhookRequestSerializer,
        responses={
            201: DiscordWebhookSerializer,
            400: OpenApiResponse(description="`webhook_url` is not a Discord webhook URL"),
        },
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove your Discord webhook and turn Discord off",
        responses={204: None},
    )
    @action(detail=False, methods=["get", "post", "delete"], url_path="discord-webhook")
    def discord_webhook(self, request: Request) -> Response:
        if request.method == "GET":
            # JSON null when there is none (DRF would send an empty body for None).
            return JsonResponse(discord_body(discord_webhook.webhook_status(request.user)), safe=False)
        if request.method == "DELETE":
            discord_webhook.remove(request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = DiscordWebhookRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            registered = discord_webhook.register(request.user, serializer.validated_data["webhook_url"])
        except DjangoValidationError as error:
            raise _field_errors(error) from None
        return Response(discord_body(registered), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Send a test embed to your Discord webhook; Discord's answer comes back",
        request=None,
        responses={
            200: DiscordTestSerializer,
            400: OpenApiResponse(description="You have no Discord webhook (or Discord stopped taking it)"),
            429: OpenApiResponse(description="Too many tests just now; see Retry-After"),
        },
    )
    @action(detail=False, methods=["post"], url_path="discord-webhook/test")
    def discord_webhook_test(self, request: Request) -> Response:
        try:
            result = discord_webhook.send_test(request.user)
        except test_sends.NotReachable as refused:
            raise serializers.ValidationError({"webhook_url": [str(refused)]}) from None
        except test_sends.TooManyTests as refused:
            raise TooMany(refused) from None
        body = {"sent": result.sent, "message_id": result.provider_id or None, "answer": result.answer}
        return Response(DiscordTestSerializer(body).data)


class NotificationPreferencesViewSet(DiscordWebhookActions, viewsets.GenericViewSet):
    """PATCH one section of your notification preferences; GET the summary. Every PATCH returns the summary."""

    permission_classes = [IsAuthenticated]
    queryset = NotificationPreferences.objects.none()
    serializer_class = SummarySerializer

    def _patch(self, request: Request, section: str) -> Response:
        prefs = preferences.preferences_for(request.user)
        serializer = SECTIONS[section](prefs, data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(preferences.preferences_summary(request.user))

    @extend_schema(request=ChannelsSerializer, responses=SummarySerializer)
    @action(detail=False, methods=["patch"])
    def channels(self, request: Request) -> Response:
        return self._patch(request, "channels")

    @extend_schema(request=FrequencySerializer, responses=SummarySerializer)
    @action(detail=False, methods=["patch"])
    def frequency(self, request: Request) -> Response:
        return self._patch(request, "frequency")

    @extend_schema(request=QuietHoursSerializer, responses=SummarySerializer)
    @action(detail=False, methods=["patch"], url_path="quiet-hours")
    def quiet_hours(self, request: Request) -> Response:
        return self._patch(request, "quiet-hours")

    @extend_schema(request=CategoriesSerializer, responses=SummarySerializer)
    @action(detail=False, methods=["patch"])
    def categories(self, request: Request) -> Response:
        return self._patch(request, "categories")

    @extend_schema(request=MaxPerDaySerializer, responses=SummarySerializer)
    @action(detail=False, methods=["patch"], url_path="max-per-day")
    def max_per_day(self, request: Request) -> Response:
        return self._patch(request, "max-per-day")

    @extend_schema(responses=SummarySerializer)
    @action(detail=False, methods=["get"])
    def summary(self, request: Request) -> Response:
        return Response(preferences.preferences_summary(request.user))

    @extend_schema(
        methods=["GET"],
        summary="Your phone for SMS",
        description="Your own phone in full (E.164), or null, and whether it is verified.",
        responses=PhoneSerializer,
    )
    @extend_schema(
        methods=["POST"],
        summary="Enter a phone: a 6-digit code is texted to it",
        description=(
            "The number becomes yours, unverified, once the code is sent. Only mobile numbers of the allowed"
            " countries (SMS_ALLOWED_COUNTRIES); codes are limited per phone, per user and per client address."
        ),
        request=PhoneNumberSerializer,
        responses={
            202: PhoneCodeSentSerializer,
            400: OpenApiResponse(description="`phone_number` is not a mobile number SMS may go to"),
            429: OpenApiResponse(description="Too many codes asked for; see Retry-After"),
            503: OpenApiResponse(description="The SMS provider is unavailable; see Retry-After"),
        },
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove your phone and turn SMS off",
        description="Forgets the phone and any code, and takes SMS out of your channels.",
        responses={204: None},
    )
    @action(detail=False, methods=["get", "post", "delete"])
    def phone(self, request: Request) -> Response:
        if request.method == "GET":
            return Response(phone_body(phone.phone_status(request.user)))
        if request.method == "DELETE":
            phone.remove_phone(request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = PhoneNumberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            sent = phone.start_verification(
                request.user, serializer.validated_data["phone_number"], client_address(request)
            )
        except DjangoValidationError as error:
            raise _field_errors(error) from None
        except phone.CodeLimitReached as refused:
            raise TooMany(refused) from None
        except phone.SmsUnavailable as unavailable:
            return Response(
                {"detail": str(unavailable)},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(unavailable.retry_after)},
            )
        body = {
            **phone_body(sent),
            "detail": f"Code sent to {sent.masked}.",
            "resend_after": sent.resend_after,
            "expires_in": int(phone.CODE_LIFETIME.total_seconds()),
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Confirm your phone with the code texted to it",
        description="A code works once, for 10 minutes; 5 wrong tries end it.",
        request=PhoneCodeSerializer,
        responses={
            200: PhoneSerializer,
            400: OpenApiResponse(description="`otp` is wrong, expired, used, or tried too often"),
        },
    )
    @action(detail=False, methods=["post"], url_path="phone/verify")
    def phone_verify(self, request: Request) -> Response:
        serializer = PhoneCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            verified = phone.verify(request.user, serializer.validated_data["otp"])
        except DjangoValidationError as error:
            raise _field_errors(error) from None
        return Response(phone_body(verified))

    @extend_schema(
        summary="Send yourself a test message on one channel; the provider's answer comes back",
        request=TestSendRequestSerializer,
        responses={
            200: TestSendSerializer,
            400: OpenApiResponse(description="`channel` cannot reach you (not set up, off, or disabled)"),
            429: OpenApiResponse(description="Too many tests on this channel just now; see Retry-After"),
        },
    )
    @action(detail=False, methods=["post"])
    def test(self, request: Request) -> Response:
        serializer = TestSendRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = test_sends.send_test(request.user, serializer.validated_data["channel"])
        except test_sends.NotReachable as refused:
            raise serializers.ValidationError({"channel": [str(refused)]}) from None
        except test_sends.TooManyTests as refused:
            raise TooMany(refused) from None
        return Response(TestSendSerializer(result).data)


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["channel", "status", "reason", "not_before", "attempts", "sent_at", "last_error", "provider_event"]


class NotificationListingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    url = serializers.URLField()
    image_url = serializers.CharField()
    deal_score = serializers.FloatField(allow_null=True)


class NotificationSerializer(serializers.ModelSerializer):
    listing = NotificationListingSerializer()
    deliveries = DeliverySerializer(many=True)
    headline = serializers.CharField(
        read_only=True, help_text='The news in one line, e.g. a price drop; "" for a plain match.'
    )

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "news",
            "headline",
            "listing",
            "sources",
            "urgent",
            "reason",
            "local_day",
            "created_at",
            "clicked_at",
            "deliveries",
        ]


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your notifications, newest first: every channel's status and the reason for it."""

    permission_classes = [IsAuthenticated]
    serializer_class = NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Notification.objects.none()
        return (
            Notification.objects.filter(user=self.request.user)
            .select_related("listing")
            .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("id")))
        )


# --- web push subscriptions: one per browser ------------------------------------------------------


class PushSubscriptionKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(help_text="The browser's P-256 public key (65 bytes, uncompressed), base64url.")
    auth = serializers.CharField(help_text="The browser's 16-byte authentication secret, base64url.")


class PushSubscriptionRequestSerializer(serializers.Serializer):
    """A browser's `PushSubscription.toJSON()`; checked by `push_subscriptions.parse`."""

    endpoint = serializers.URLField(help_text="The push service URL; https on a public host.")
    keys = PushSubscriptionKeysSerializer()


class PushRenewRequestSerializer(PushSubscriptionRequestSerializer):
    old_endpoint = serializers.URLField(help_text="The endpoint of the subscription the browser replaced.")


class PushDeviceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    browser = serializers.CharField(source="label", help_text='"Chrome on Android", from the User-Agent.')
    created_at = serializers.DateTimeField(help_text="When this browser was subscribed.")
    verified_at = serializers.DateTimeField(allow_null=True, help_text="When it last subscribed (or re-subscribed).")
    last_sent_at = serializers.DateTimeField(allow_null=True, help_text="When a push last reached it.")
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(help_text="The push service's answer that made us stop using it.")
    last_error = serializers.CharField()


def _subscription(data: object) -> push_subscriptions.Subscription:
    try:
        return push_subscriptions.parse(data)
    except push_subscriptions.InvalidSubscription as invalid:
        raise serializers.ValidationError({invalid.field: [str(invalid)]}) from None


class PushSubscriptionViewSet(mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The browsers that get your deals by web push."""

    permission_classes = [IsAuthenticated]
    serializer_class = PushDeviceSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Address.objects.none()
        return Address.objects.filter(user=self.request.user, channel=push_subscriptions.CHANNEL)

    @extend_schema(summary="Your browsers subscribed to push", responses=PushDeviceSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(PushDeviceSerializer(push_subscriptions.devices(request.user), many=True).data)

    @extend_schema(
        summary="Subscribe this browser to push",
        description="The browser's PushSubscription JSON. The same endpoint again updates its device.",
        request=PushSubscriptionRequestSerializer,
        responses={
            201: PushDeviceSerializer,
            400: OpenApiResponse(description="The field named is missing or malformed"),
            409: OpenApiResponse(description="This site has no VAPID keys: push is not available"),
        },
    )
    def create(self, request: Request) -> Response:
        if not channels.get("push").configured():
            return Response({"detail": "Push is not available on this site yet."}, status=status.HTTP_409_CONFLICT)
        subscription = _subscription(request.data)
        address = push_subscriptions.subscribe(request.user, subscription, request.headers.get("User-Agent", ""))
        return Response(PushDeviceSerializer(address).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Remove one of your browsers", responses={204: None})
    def destroy(self, request: Request, *args, **kwargs) -> Response:
        return super().destroy(request, *args, **kwargs)

    @extend_schema(
        summary="A browser's replaced subscription (from the service worker)",
        description=(
            "Sent by our service worker on `pushsubscriptionchange`, without a session: knowing the old "
            "endpoint (a secret only that browser and this site hold) is the proof."
        ),
        request=PushRenewRequestSerializer,
        responses={204: None, 400: OpenApiResponse(description="A field is malformed"), 404: None},
    )
    @action(detail=False, methods=["post"], permission_classes=[AllowAny], authentication_classes=[])
    def renew(self, request: Request) -> Response:
        subscription = _subscription(request.data)
        try:
            renewed = push_subscriptions.renew(
                request.data.get("old_endpoint"), subscription, request.headers.get("User-Agent", "")
            )
        except push_subscriptions.InvalidSubscription as invalid:
            raise serializers.ValidationError({invalid.field: [str(invalid)]}) from None
        return Response(status=status.HTTP_204_NO_CONTENT if renewed else status.HTTP_404_NOT_FOUND)
