from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .forms import AdminSignInForm
from .models import User

admin.site.login_form = AdminSignInForm


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "first_name",
        "last_name",
        "time_zone",
        "home_zip",
        "email_confirmed_at",
        "is_staff",
        "date_joined",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", ("email_confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "first_name", "last_name", "home_zip"]
    fieldsets = [
        (None, {"fields": ["email", "email_confirmed_at", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name", "time_zone", "home_zip"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2", "time_zone"]})]

    def save_model(self, request, obj, form, change):
        # A new address is unconfirmed until its owner follows a link sent to it (staff may tick it confirmed).
        if change and "email" in form.changed_data and "email_confirmed_at" not in form.changed_data:
            obj.email_confirmed_at = None
        super().save_model(request, obj, form, change)
