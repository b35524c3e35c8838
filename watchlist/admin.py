from django.contrib import admin

from .models import WatchlistItem


@admin.register(WatchlistItem)
class WatchlistItemAdmin(admin.ModelAdmin):
    list_display = [
        "listing",
        "user",
        "price_threshold",
        "added_price",
        "lowest_price",
        "alert_sent",
        "last_alert_price",
        "last_alerted_at",
        "sold_at",
        "created_at",
    ]
    list_filter = ["alert_sent", ("sold_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["user__email", "listing__title"]
    raw_id_fields = ["user", "listing"]
    list_select_related = ["user", "listing"]
    readonly_fields = [
        "created_at",
        "added_price",
        "lowest_price",
        "reference_price",
        "last_alert_price",
        "last_alerted_at",
        "sold_at",
    ]
