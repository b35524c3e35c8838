from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils import timezone

from . import confirmation
from .forms import AdminSignInForm
from .models import User
from .phones import mask_phone

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
        "masked_phone",
        "phone_verified",
        "is_staff",
        "date_joined",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", ("email_confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "first_name", "last_name", "home_zip"]
    # Confirmed by its owner following the link, or by staff with the "Mark email confirmed" action.
    # The phone is its owner's to enter and verify; staff see it masked (it is encrypted at rest).
    readonly_fields = ["email_confirmed_at", "masked_phone", "phone_verified"]
    actions = ["send_confirmation_email", "mark_email_confirmed"]
    fieldsets = [
        (None, {"fields": ["email", "email_confirmed_at", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name", "time_zone", "home_zip"]}),
        ("Phone for SMS", {"fields": ["masked_phone", "phone_verified"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2", "time_zone"]})]

    @admin.display(description="phone")
    def masked_phone(self, user: User) -> str:
        return mask_phone(user.phone_number) or "—"

    def save_model(self, request, obj, form, change):
        # A new address is unconfirmed until its owner follows a link sent to it: send one, so alerts
        # do not stop without a word (the delivery log tells the user to use the link we sent).
        new_address = not change or "email" in form.changed_data
        if change and new_address:
            obj.email_confirmed_at = None
        super().save_model(request, obj, form, change)
        if new_address and obj.email_confirmed_at is None:
            confirmation.send_after_commit(obj, counted=False)

    @admin.action(description="Send confirmation email")
    def send_confirmation_email(self, request, queryset):
        unconfirmed = list(queryset.filter(email_confirmed_at__isnull=True))
        for user in unconfirmed:
            confirmation.send_after_commit(user, counted=False)
        skipped = queryset.count() - len(unconfirmed)
        self.message_user(
            request,
            f"Sending a confirmation link to {len(unconfirmed)} user(s)"
            + (f"; {skipped} already confirmed." if skipped else "."),
        )

    @admin.action(description="Mark email confirmed")
    def mark_email_confirmed(self, request, queryset):
        count = queryset.filter(email_confirmed_at__isnull=True).update(email_confirmed_at=timezone.now())
        self.message_user(request, f"Marked {count} address(es) confirmed.")
