from django.contrib import admin, messages
from django.db.models import Count

from . import services
from .models import DealAlertMatch, DealAlertRule


class DealAlertMatchInline(admin.TabularInline):
    model = DealAlertMatch
    extra = 0
    fields = ["listing", "matched_at", "why"]
    readonly_fields = fields
    raw_id_fields = ["listing"]
    can_delete = False
    ordering = ["-matched_at"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("listing")


@admin.register(DealAlertRule)
class DealAlertRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user",
        "enabled",
        "keywords",
        "categories",
        "min_price",
        "max_price",
        "location",
        "radius_mi",
        "min_deal_score",
        "match_count",
        "last_triggered_at",
        "updated_at",
    ]
    list_filter = ["enabled", ("last_triggered_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["name", "user__email"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]
    readonly_fields = ["created_at", "updated_at", "last_triggered_at"]
    date_hierarchy = "created_at"
    inlines = [DealAlertMatchInline]
    actions = ["pause_rules", "resume_rules"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(match_count=Count("matches"))

    @admin.display(ordering="match_count", description="matches")
    def match_count(self, rule) -> int:
        return rule.match_count

    @admin.action(description="Pause selected rules")
    def pause_rules(self, request, queryset):
        for rule in queryset:
            services.set_enabled(rule, False)
        self.message_user(request, f"Paused {queryset.count()} rule(s).", messages.SUCCESS)

    @admin.action(description="Resume selected rules")
    def resume_rules(self, request, queryset):
        for rule in queryset:
            services.set_enabled(rule, True)
        self.message_user(request, f"Resumed {queryset.count()} rule(s).", messages.SUCCESS)


@admin.register(DealAlertMatch)
class DealAlertMatchAdmin(admin.ModelAdmin):
    list_display = ["rule", "listing", "matched_at", "why"]
    list_select_related = ["rule", "listing"]
    raw_id_fields = ["rule", "listing"]
    search_fields = ["rule__name", "rule__user__email", "listing__title"]
    date_hierarchy = "matched_at"
    show_full_result_count = False
