"""What comes back about the email we sent: one-click unsubscribes, our tracked links' clicks, and the
ESP's tracking events (delivered, opened, clicked, bounced), which may turn email off for an address.

ESP events arrive through anymail's `tracking` signal (see `webhooks` for how the webhook is served).
"""

import hashlib
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from activity.log import Kind, firsts, record, record_once

from . import channels, event_log
from .addresses import disable
from .models import Delivery, Digest, Notification, NotificationPreferences
from .preferences import addresses_on, preferences_for

SUPPRESSING_EVENTS = {"bounced", "complained", "rejected"}
# The ESP's events the event log keeps (clicks are our own tracked redirect's, opens of digests our pixel's).
LOGGED_EVENTS = {
    "delivered": Kind.EMAIL_DELIVERED,
    "opened": Kind.EMAIL_OPENED,
    "bounced": Kind.EMAIL_BOUNCED,
    "complained": Kind.EMAIL_COMPLAINED,
}


def record_provider_event(
    event_type: str,
    *,
    message_id: str,
    metadata: object,
    timestamp: datetime | None,
    description: str = "",
    event_id: str = "",
    provider: str = "",
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
    if event_type in LOGGED_EVENTS:
        _log_provider_event(event_type, deliveries, message_id, metadata, when, timestamp, event_id, provider)
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


def _log_provider_event(
    event_type: str,
    deliveries: QuerySet,
    message_id: str,
    metadata: object,
    when: datetime,
    timestamp: datetime | None,
    event_id: str,
    provider: str,
) -> None:
    """One row per ESP event about a message we sent (a deal or a digest); a replayed webhook writes none."""
    about = deliveries.values_list("notification_id", "notification__user_id", "notification__listing_id").first()
    if about is not None:
        ref_id, user_id, listing_id = about
    else:
        digest = _sent_by_us(Digest.objects.all(), message_id, id=_text(metadata, "digest_id"))
        found = digest.values_list("id", "user_id").first()
        if found is None:
            return  # not a message of ours
        (ref_id, user_id), listing_id = found, None
    # Without the ESP's own id, the same event replayed still hashes the same.
    external_id = event_id or hashlib.sha256(f"{event_type}|{message_id}|{timestamp}".encode()).hexdigest()[:64]
    record_once(
        LOGGED_EVENTS[event_type],
        external_id,
        now=when,
        user_id=user_id,
        channel="email",
        provider=provider[:30],
        ref_id=ref_id,
        listing_id=listing_id,
    )


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
        record(Kind.EMAIL_UNSUBSCRIBED, now=now, user_id=user_id, channel="email")
    return True


def suppress_email(user_id: int, reason: str, now: datetime | None = None) -> None:
    """Stop email to the user's current address: the ESP reported it bounced or was marked as spam."""
    user = User.objects.filter(pk=user_id).first()
    for address in addresses_on(user, channels.get("email")) if user else []:
        disable(address, reason, now)


def record_click(
    notification_id: int,
    channel: str = "",
    *,
    user_agent: str = "",
    ip: str = "",
    method: str = "GET",
    now: datetime | None = None,
) -> Notification | None:
    """A tracked link followed: logged (a digest's link as a click on the digest), and the notification's
    `clicked_at` set by the first person's click — a link scanner's is logged as a machine, never the user's."""
    now = now or timezone.now()
    notification = Notification.objects.select_related("digest").filter(pk=notification_id).first()
    if notification is None:
        return None
    if channel == "digest" and notification.digest is not None:
        kind, ref_id, logged_channel = Kind.DIGEST_CLICKED, notification.digest_id, "email"
        sent_at = notification.digest.sent_at
    else:
        kind, ref_id, logged_channel = Kind.NOTIFICATION_CLICKED, notification.pk, channel[:10]
        sent_at = (
            Delivery.objects.filter(notification_id=notification.pk, channel=channel)
            .values_list("sent_at", flat=True)
            .first()
        )
    seen = event_log.click_fields(user_agent, ip, method, sent_at, now, by_mail=logged_channel == "email")
    record(
        kind,
        now=now,
        user_id=notification.user_id,
        channel=logged_channel,
        ref_id=ref_id,
        listing_id=notification.listing_id,
        **seen,
        **firsts(kind, ref_id, logged_channel, machine=seen["machine"]),
    )
    if not seen["machine"] and notification.clicked_at is None:
        Notification.objects.filter(pk=notification_id, clicked_at__isnull=True).update(clicked_at=now)
    return notification


def record_open(digest_id: int, *, user_agent: str = "", ip: str = "", now: datetime | None = None) -> bool:
    """A digest's open pixel fetched; False (nothing logged) for a digest that is not here."""
    now = now or timezone.now()
    digest = Digest.objects.filter(pk=digest_id).values_list("user_id", "sent_at").first()
    if digest is None:
        return False
    user_id, sent_at = digest
    seen = event_log.open_fields(user_agent, ip, sent_at, now)
    record(
        Kind.DIGEST_OPENED,
        now=now,
        user_id=user_id,
        channel="email",
        ref_id=digest_id,
        **seen,
        **firsts(Kind.DIGEST_OPENED, digest_id, "email", machine=seen["machine"]),
    )
    return True
