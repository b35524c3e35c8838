from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import Dismissal, Purchase, UserRecommendations


@admin.register(Purchase, Dismissal)
class SignalAdmin(admin.ModelAdmin):
    list_display = ["listing", "user", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["user__email", "listing__title"]
    raw_id_fields = ["user", "listing"]
    list_select_related = ["user", "listing"]
    date_hierarchy = "created_at"


@admin.register(UserRecommendations)
class UserRecommendationsAdmin(admin.ModelAdmin):
    list_display = ["user", "computed_at", "stale_since", "count"]
    list_filter = ["computed_at", ("stale_since", admin.EmptyFieldListFilter)]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]
    readonly_fields = ["user", "items", "computed_at", "stale_since"]
    actions = ["refresh_now"]

    @admin.display(description="items")
    def count(self, row: UserRecommendations) -> int:
        return len(row.items)

    @admin.action(description="Recompute these lists now")
    def refresh_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        stored = services.refresh(list(queryset.values_list("user_id", flat=True)))
        self.message_user(request, f"Recomputed {stored} lists.", messages.SUCCESS)
