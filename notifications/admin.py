from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .delivery import enqueue
from .models import Address, Delivery, DeliveryStatus, Digest, DigestSchedule, Notification, NotificationPreferences


@admin.register(NotificationPreferences)
class NotificationPreferencesAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "channels",
        "frequency",
        "max_per_day",
        "quiet_hours_start",
        "quiet_hours_end",
    )
    list_filter = ("frequency",)
    search_fields = ("user__email",)
    raw_id_fields = ("user",)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    """Every channel's addresses and their state; the value itself is never shown (it is encrypted at rest)."""

    list_display = ("user", "channel", "label", "verified_at", "disabled_at", "disabled_reason", "last_error_at")
    list_filter = ("channel", ("disabled_at", admin.EmptyFieldListFilter))
    search_fields = ("user__email",)
    raw_id_fields = ("user",)
    exclude = ("value",)
    readonly_fields = ("key", "last_error", "last_error_at", "created_at")
    actions = ["enable_again"]

    @admin.action(description="Enable again (the address works again)")
    def enable_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.update(disabled_at=None, disabled_reason="")
        self.message_user(request, f"{count} addresses enabled again.", messages.SUCCESS)


@admin.register(DigestSchedule)
class DigestScheduleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "daily_time", "weekly_weekday", "weekly_time")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not DigestSchedule.objects.exists()


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ("channel", "status", "reason", "not_before", "attempts", "sent_at", "last_error", "provider_id")
    readonly_fields = fields
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "kind", "listing", "urgent", "reason", "created_at")
    list_filter = ("kind", "urgent", "created_at")
    search_fields = ("user__email", "listing__title")
    raw_id_fields = ("user", "listing", "digest")
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "channel",
        "status",
        "reason",
        "attempts",
        "not_before",
        "sent_at",
        "provider_event",
        "user_email",
    )
    list_filter = ("status", "channel", "urgent", "provider_event")
    search_fields = ("dedup_key", "provider_id", "notification__user__email")
    raw_id_fields = ("notification",)
    list_select_related = ("notification__user",)
    actions = ["retry_now"]

    @admin.display(description="user", ordering="notification__user__email")
    def user_email(self, delivery: Delivery) -> str:
        return delivery.notification.user.email

    @admin.action(description="Retry now (failed or deferred deliveries)")
    def retry_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        rows = list(queryset.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.DEFERRED]))
        Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(
            status=DeliveryStatus.PENDING, not_before=None, last_error=""
        )
        enqueue(rows)
        self.message_user(request, f"{len(rows)} deliveries queued at {timezone.now():%H:%M:%S}.", messages.SUCCESS)


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "period", "period_start", "deal_count", "sent_at", "last_error")
    list_filter = ("period", "period_start")
    search_fields = ("user__email",)
    raw_id_fields = ("user",)
