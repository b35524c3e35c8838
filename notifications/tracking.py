"""What comes back about the email we sent: one-click unsubscribes, our tracked links' clicks, and the
ESP's tracking events (delivered, opened, clicked, bounced), which may turn email off for an address.

ESP events arrive through anymail's `tracking` signal (see `webhooks` for how the webhook is served).
"""

from datetime import UTC, datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User

from . import channels
from .addresses import disable
from .models import Delivery, Digest, Notification, NotificationPreferences
from .preferences import addresses_on, preferences_for

SUPPRESSING_EVENTS = {"bounced", "complained", "rejected"}


def record_provider_event(
    event_type: str, *, message_id: str, metadata: object, timestamp: datetime | None, description: str = ""
) -> int:
    """Apply one ESP tracking event to the email we sent that it names; returns how many deliveries it concerned.

    Only a message we sent counts, found by the ESP's message id we stored when sending it (our
    dedup key, when the metadata carries one, must agree), or by our key alone when the ESP gives
    no id. An event for any other message — forged, or another system's on the same ESP account —
    changes nothing, and email is turned off only for the recipient of the message that bounced,
    never for a user the metadata names.
    """
    when = timestamp or timezone.now()
    if timezone.is_naive(when):
        when = timezone.make_aware(when, UTC)
    message_id = message_id if isinstance(message_id, str) else ""
    emails = Delivery.objects.filter(channel="email")
    deliveries = _sent_by_us(emails, message_id, dedup_key=_text(metadata, "dedup_key"))
    updated = deliveries.update(provider_event=event_type[:20], provider_event_at=when)
    if event_type == "clicked":
        Notification.objects.filter(deliveries__in=deliveries, clicked_at__isnull=True).update(clicked_at=when)
    if event_type in SUPPRESSING_EVENTS:
        digests = _sent_by_us(Digest.objects.all(), message_id, id=_text(metadata, "digest_id"))
        recipients = set(deliveries.values_list("notification__user_id", flat=True)) or set(
            digests.values_list("user_id", flat=True)
        )
        for user_id in recipients:  # one: a message has one recipient
            suppress_email(user_id, f"{event_type}: {description}".strip(": ")[:200], when)
    return updated


def _text(metadata: object, key: str) -> str:
    """A string from the ESP's copy of our metadata; anything else there was not put by us."""
    value = metadata.get(key) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) else ""


def _sent_by_us(rows: QuerySet, message_id: str, **ours: str) -> QuerySet:
    """The rows (deliveries or digests) of the message an ESP event names, if we sent it."""
    ours = {field: value for field, value in ours.items() if value}
    if "id" in ours and not (ours["id"].isascii() and ours["id"].isdecimal()):
        return rows.none()
    if message_id:
        return rows.filter(provider_id=message_id, **ours)
    if ours:
        return rows.filter(status="sent", **ours)
    return rows.none()


def unsubscribe_email(user_id: int, now: datetime | None = None) -> bool:
    """Turn email off for a user (RFC 8058 one-click); True when it was on."""
    now = now or timezone.now()
    with transaction.atomic():
        prefs = NotificationPreferences.objects.select_for_update().filter(user_id=user_id).first()
        if prefs is None:
            user = User.objects.filter(pk=user_id).first()
            if user is None:
                return False
            prefs = preferences_for(user)
        if "email" not in prefs.channels:
            return False
        prefs.channels = [c for c in prefs.channels if c != "email"]
        prefs.email_unsubscribed_at = now
        prefs.save(update_fields=["channels", "email_unsubscribed_at", "updated_at"])
    return True


def suppress_email(user_id: int, reason: str, now: datetime | None = None) -> None:
    """Stop email to the user's current address: the ESP reported it bounced or was marked as spam."""
    user = User.objects.filter(pk=user_id).first()
    for address in addresses_on(user, channels.get("email")) if user else []:
        disable(address, reason, now)


def record_click(notification_id: int, now: datetime | None = None) -> Notification | None:
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is not None and notification.clicked_at is None:
        Notification.objects.filter(pk=notification_id, clicked_at__isnull=True).update(
            clicked_at=now or timezone.now()
        )
    return notification
