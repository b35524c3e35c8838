from django.contrib import admin

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The event log, read-only: it is what happened, so nobody edits it."""

    list_display = ["created_at", "kind", "channel", "provider", "user", "ref_id", "machine", "repeat", "first_human"]
    list_filter = ["kind", "channel", "machine"]
    search_fields = ["=user__email", "=ref_id", "=session"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    show_full_result_count = False  # counting millions of rows for "of N" is the slow part of the page
    ordering = ["-id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
