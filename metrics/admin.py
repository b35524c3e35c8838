from django.contrib import admin

from .models import DailyCount, DailyUsers


@admin.register(DailyCount)
class DailyCountAdmin(admin.ModelAdmin):
    list_display = ["day", "kind", "channel", "machine", "repeat", "first_human", "count"]
    list_filter = ["kind", "channel", "machine"]
    date_hierarchy = "day"
    ordering = ["-day", "kind"]


@admin.register(DailyUsers)
class DailyUsersAdmin(admin.ModelAdmin):
    list_display = ["day", "active", "with_rule", "sms_on"]
    ordering = ["-day"]
