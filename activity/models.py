"""The event log: one row per thing that happened, written where it happens, for the metrics.

Append-only and never sampled: the metrics page and the operations page read these rows (through
daily roll-ups, see `metrics`), so each fact is recorded once, here. Ids of what an event is about
are plain integers, not foreign keys: the log outlives listings and notifications, and writing a
row costs no constraint checks. Only the user is a foreign key, so deleting an account deletes
its trail.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Kind(models.TextChoices):
    # What we sent, and what came of it (`channel`: email, sms, discord, push).
    NOTIFICATION_SENT = "notification.sent", "Notification sent"
    NOTIFICATION_CLICKED = "notification.clicked", "Notification clicked"
    NOTIFICATION_FAILED = "notification.failed", "Notification failed"
    NOTIFICATION_RETRIED = "notification.retried", "Notification retried"
    NOTIFICATION_FELL_BACK = "notification.fell_back", "Notification fell back to another channel"
    DIGEST_SENT = "digest.sent", "Digest sent"
    DIGEST_OPENED = "digest.opened", "Digest opened"
    DIGEST_CLICKED = "digest.clicked", "Digest clicked"
    RECOMMENDATION_SHOWN = "recommendation.shown", "Recommendation shown"
    RECOMMENDATION_CLICKED = "recommendation.clicked", "Recommendation clicked"
    # What shoppers did.
    SESSION_STARTED = "session.started", "Browsing session started"
    LISTING_VIEWED = "listing.viewed", "Listing viewed"
    RULE_CREATED = "rule.created", "Alert rule created"
    USER_SIGNED_UP = "user.signed_up", "User signed up"
    SMS_OPTED_IN = "sms.opted_in", "SMS opted in"
    SMS_OPTED_OUT = "sms.opted_out", "SMS opted out"
    # What the ESP told us about email (its tracking webhook), and one-click unsubscribes.
    EMAIL_DELIVERED = "email.delivered", "Email delivered"
    EMAIL_OPENED = "email.opened", "Email opened"
    EMAIL_BOUNCED = "email.bounced", "Email bounced"
    EMAIL_COMPLAINED = "email.complained", "Email marked as spam"
    EMAIL_UNSUBSCRIBED = "email.unsubscribed", "Email unsubscribed"


class Event(models.Model):
    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # The channel a message went on (email, sms, discord, push, digest), or where a recommendation
    # was shown (page, api, digest).
    channel = models.CharField(max_length=10, blank=True, default="")
    provider = models.CharField(max_length=30, blank=True, default="", help_text="Who carried it: postmark, twilio…")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    listing_id = models.BigIntegerField(null=True, blank=True)
    ref_id = models.BigIntegerField(
        null=True, blank=True, help_text="What it is about: the notification, digest or rule."
    )
    session = models.CharField(max_length=40, blank=True, default="", help_text="The browsing session (a visit).")
    rank = models.PositiveSmallIntegerField(null=True, blank=True, help_text="A recommendation's place: 1 = first.")
    # Opens and clicks only: a mail privacy proxy or a link scanner, not a person (see `machines`).
    machine = models.BooleanField(default=False)
    # Rates count each message once however often it is opened or clicked: `repeat` marks an event
    # that is not the first of its kind for what it is about (by anyone, machine or person), and
    # `first_human` the first by a person — which may come after a privacy proxy's open.
    repeat = models.BooleanField(default=False)
    first_human = models.BooleanField(default=False)
    delay_seconds = models.IntegerField(null=True, blank=True, help_text="Opens and clicks: seconds since it was sent.")
    user_agent = models.CharField(max_length=300, blank=True, default="")
    # The ESP's own id for a tracking event: a webhook delivered twice records it once.
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    detail = models.CharField(max_length=300, blank=True, default="", help_text="An error, a reason.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="event_time"),
            models.Index(fields=["ref_id", "kind"], name="event_ref_kind", condition=models.Q(ref_id__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.created_at:%Y-%m-%d %H:%M}"
