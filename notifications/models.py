"""Preferences, the outbox (Notification → Delivery), digests and email suppressions.

A `Notification` is one thing worth telling a user (a listing, and why); a `Delivery` is that
notification on one channel, with its status and the reason for it. Both are written in the
same transaction as the match that caused them, so nothing matched is ever lost, and each
delivery's unique `dedup_key` means nothing is ever sent twice.
"""

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from dealalerts.encryption import EncryptedTextField
from listings.models import Listing

from .channels import LABELS as CHANNEL_LABELS  # the channels' one list, under the names the app imports
from .channels import NAMES as CHANNELS
from .wording import delivery_note

DEFAULT_DIGEST_TIME = time(9, 0)
MAX_PER_DAY_DEFAULT = 10


def default_channels() -> list[str]:
    return ["email"]


class Frequency(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DAILY = "daily", "Daily digest"
    WEEKLY = "weekly", "Weekly digest"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class NotificationPreferences(models.Model):
    """How and when one user hears about deals (the roadmap's "Feature 1")."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notification_preferences"
    )
    channels = models.JSONField(default=default_channels, blank=True)
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.IMMEDIATE)
    digest_time = models.TimeField(null=True, blank=True, help_text="Local time; empty: the site default.")
    digest_weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, null=True, blank=True, help_text="Weekly digests; empty: the site default."
    )
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    urgent_in_quiet_hours = models.BooleanField(default=False, help_text="Let urgent deals through during quiet hours.")
    category_filters = models.JSONField(default=list, blank=True, help_text="Category slugs; empty: all.")
    max_per_day = models.PositiveSmallIntegerField(
        default=MAX_PER_DAY_DEFAULT, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    email_unsubscribed_at = models.DateTimeField(null=True, blank=True, help_text="Via an email's unsubscribe link.")
    sms_urgent_only = models.BooleanField(
        default=False, help_text="SMS only for urgent deals; the rest by the other channels."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "notification preferences"
        verbose_name_plural = "notification preferences"

    def __str__(self) -> str:
        return f"Preferences of {self.user_id}"


class Address(models.Model):
    """Where a channel reaches a user, and whether it still can: verified when, disabled when and why, the last error.

    One concept for every channel, so "disable a dead address, tell the user, fall back" is written
    once. Discord webhooks and push subscriptions are stored here whole; the email address and the
    phone number live on the user (they sign in with one and verify the other), and their rows here
    hold only their state, made when there is some. `key` tells a user's addresses on a channel apart:
    a keyed digest of the value, so a changed email or phone number starts with a clean slate.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    channel = models.CharField(max_length=10, choices=[(c, CHANNEL_LABELS[c]) for c in CHANNELS])
    key = models.CharField(max_length=64)
    value = EncryptedTextField(blank=True, help_text="The address itself, where it is not kept on the user.")
    label = models.CharField(max_length=100, blank=True, help_text="How it is shown: masked, or the browser's name.")
    verified_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # The person told the provider to stop (an SMS STOP, which Twilio then enforces) until they say START.
    opted_out_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When a message last reached it (kept for push: one row per browser)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "addresses"
        constraints = [models.UniqueConstraint(fields=["user", "channel", "key"], name="address_once_per_user")]

    def __str__(self) -> str:
        return f"{CHANNEL_LABELS.get(self.channel, self.channel)} address of user {self.user_id}"

    @property
    def usable(self) -> bool:
        return self.verified_at is not None and self.disabled_at is None and self.opted_out_at is None


class ChannelDayCount(models.Model):
    """Messages sent on a capped channel (SMS) to one user on one local day: reserved one by one, atomically."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10)
    local_day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "channel", "local_day"], name="channel_day_count_once")]

    def __str__(self) -> str:
        return f"{self.count} {self.channel} on {self.local_day} for user {self.user_id}"


class DigestSchedule(models.Model):
    """The site-wide default digest times, edited by staff in admin (one row)."""

    daily_time = models.TimeField(default=DEFAULT_DIGEST_TIME)
    weekly_weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.MONDAY)
    weekly_time = models.TimeField(default=DEFAULT_DIGEST_TIME)

    class Meta:
        verbose_name = "default digest schedule"

    def __str__(self) -> str:
        return "Default digest schedule"

    @classmethod
    def current(cls) -> "DigestSchedule":
        return cls.objects.order_by("pk").first() or cls()


class Kind(models.TextChoices):
    DEAL_MATCH = "deal_match", "Deal matched an alert"
    PRICE_DROP = "price_drop", "Price drop"
    RECOMMENDATION = "recommendation", "Recommendation"
    LISTING_SOLD = "listing_sold", "Watched listing sold"


class Notification(models.Model):
    """One piece of news about a listing for one user on one local day, with every reason for it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DEAL_MATCH)
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="notifications")
    local_day = models.DateField(
        help_text="The day in the user's time zone; one notification per listing, news and day."
    )
    # What the news is: "match" (alert rules matched it), "drop:310.00" (a watched price fell to
    # $310), "sold". Part of the identity, so a match and a price drop of the same listing on the
    # same day both reach the user, while the same news twice is merged and never sent again.
    news = models.CharField(max_length=40, default="match")
    sources = models.JSONField(
        default=list, help_text="What produced it: [{kind, id, name, why}], e.g. each alert rule that matched."
    )
    urgent = models.BooleanField(default=False)
    counts_toward_cap = models.BooleanField(default=False, help_text="Sent or scheduled outside a digest.")
    reason = models.CharField(max_length=200, blank=True, help_text="The policy's decision, in words.")
    digest = models.ForeignKey("Digest", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    created_at = models.DateTimeField()
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "listing", "local_day", "news"], name="notification_news_once_per_day"
            )
        ]
        indexes = [models.Index(fields=["user", "local_day"], name="notification_user_day")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: listing {self.listing_id} for user {self.user_id}"

    @property
    def source_names(self) -> list[str]:
        return [source.get("name", "") for source in self.sources]

    @property
    def headline(self) -> str:
        """The producer's one-line news ("ThinkPad T14 dropped to $310 …"); "" for a plain match."""
        return next((s["headline"] for s in self.sources if s.get("headline")), "")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DEFERRED = "deferred", "Deferred"
    HELD = "held", "Held for the digest"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class Delivery(models.Model):
    """A notification on one channel: the outbox row a worker claims, sends and settles."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=[(c, CHANNEL_LABELS[c]) for c in CHANNELS])
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    reason = models.CharField(max_length=200, blank=True)
    urgent = models.BooleanField(default=False)
    not_before = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=200, blank=True, db_index=True)
    dedup_key = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # What the provider told us afterwards (the ESP's tracking webhook).
    provider_event = models.CharField(max_length=20, blank=True)
    provider_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The operations page's "last day of the outbox" every 10 s, without reading all of it.
            models.Index(fields=["created_at"], name="delivery_created"),
            models.Index(
                fields=["status", "not_before"],
                name="delivery_due",
                condition=models.Q(status__in=["pending", "deferred", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status}: {self.dedup_key}"

    @property
    def printed(self) -> bool:
        """Printed to the worker's console instead of sent: the site has no credentials for the provider."""
        return self.status == DeliveryStatus.SENT and self.provider_id.startswith("console-")

    @property
    def note(self) -> str:
        """The reason, less what the status already says (for the history page)."""
        return delivery_note(self.status, self.reason, self.last_error)


class DigestPeriod(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class DigestStatus(models.TextChoices):
    CLAIMED = "claimed", "Being sent"
    SENT = "sent", "Sent"
    EMPTY = "empty", "Nothing to send"
    FAILED = "failed", "Failed"


class Digest(models.Model):
    """One digest email per (user, period): the unique constraint makes a second run a no-op."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests")
    period = models.CharField(max_length=10, choices=DigestPeriod.choices)
    period_start = models.DateField(help_text="The local day (daily) or the local day of the weekly digest.")
    # Database defaults as well: digests are claimed by a raw INSERT naming only the key columns.
    status = models.CharField(
        max_length=10, choices=DigestStatus.choices, default=DigestStatus.CLAIMED, db_default=DigestStatus.CLAIMED
    )
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1, db_default=1)
    sent_at = models.DateTimeField(null=True, blank=True)
    deal_count = models.PositiveIntegerField(default=0, db_default=0)
    provider_id = models.CharField(max_length=200, blank=True, default="", db_default="")
    last_error = models.TextField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "period", "period_start"], name="digest_once_per_period")
        ]
        indexes = [
            models.Index(
                fields=["status", "claimed_at"],
                name="digest_retry",
                condition=models.Q(status__in=["claimed", "failed"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_period_display()} digest of {self.period_start} for user {self.user_id}"
