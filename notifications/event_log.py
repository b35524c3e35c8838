"""What the notifications app writes to the event log: sends, retries, failures, fallbacks, clicks and opens.

The events themselves are built here (unsaved), so `delivery` and `digests` can write a whole batch's
with one `record_many`, and the views one with `record`. Who carried a message (`provider`) is
worked out here too: the operations page groups failures by it.
"""

import json
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings

from activity.log import Event, Kind
from activity.machines import machine_click, machine_open

from .models import Address

DETAIL_LIMIT = 300
USER_AGENT_LIMIT = 300
# The email backends by the name of their module's package ("anymail.backends.postmark" → "postmark").
_DJANGO_BACKENDS = {"smtp": "smtp", "console": "console", "locmem": "locmem", "filebased": "file", "dummy": "dummy"}


def email_provider() -> str:
    """The ESP the configured backend talks to ("postmark"), or Django's own backend ("smtp", "console")."""
    backend = settings.EMAIL_BACKEND
    parts = backend.split(".")
    if backend.startswith("anymail.backends.") and len(parts) > 2:
        return parts[2]
    if backend.startswith("django.core.mail.backends.") and len(parts) > 4:
        return _DJANGO_BACKENDS.get(parts[4], parts[4])
    return parts[-2] if len(parts) > 1 else backend


def push_host(address: Address) -> str:
    """The push service a browser's subscription lives at ("fcm.googleapis.com")."""
    try:
        endpoint = json.loads(address.value).get("endpoint", "")
        return (urlsplit(endpoint).hostname or "")[:30]
    except (ValueError, AttributeError):
        return ""


def provider(channel: str, addresses: list[Address] = ()) -> str:
    """Who carries a message on `channel` to these addresses (for push: the first usable one's service)."""
    if channel == "email":
        return email_provider()
    if channel == "sms":
        return "twilio"
    if channel == "push":
        usable = [a for a in addresses if a.usable] or list(addresses)
        return push_host(usable[0]) if usable else ""
    return channel


def delivery_event(kind: str, delivery, provider_name: str, *, detail: str = "", now: datetime) -> Event:
    """An unsaved event about one delivery (`delivery.notification` is loaded); ref_id is the notification."""
    notification = delivery.notification
    return Event(
        kind=kind,
        user_id=notification.user_id,
        channel=delivery.channel,
        provider=provider_name[:30],
        ref_id=notification.pk,
        listing_id=notification.listing_id,
        detail=detail[:DETAIL_LIMIT],
        created_at=now,
    )


def seconds_since(then: datetime | None, now: datetime) -> int | None:
    return None if then is None else max(0, int((now - then).total_seconds()))


def click_fields(
    user_agent: str, ip: str, method: str, sent_at: datetime | None, now: datetime, *, by_mail: bool
) -> dict:
    """What every tracked click records about who followed it, and when after sending.

    Only an email's early click says "scanner": mail filters follow links as the message arrives,
    while a person may well tap a push notification or a text within seconds of it.
    """
    delay = seconds_since(sent_at, now)
    return {
        "user_agent": user_agent[:USER_AGENT_LIMIT],
        "delay_seconds": delay,
        "machine": machine_click(user_agent, ip, delay if by_mail else None, method),
    }


def open_fields(user_agent: str, ip: str, sent_at: datetime | None, now: datetime) -> dict:
    """What every pixel fetch records about who fetched it, and when after sending."""
    delay = seconds_since(sent_at, now)
    return {
        "user_agent": user_agent[:USER_AGENT_LIMIT],
        "delay_seconds": delay,
        "machine": machine_open(user_agent, ip, delay),
    }


__all__ = ["Kind", "click_fields", "delivery_event", "email_provider", "open_fields", "provider", "push_host"]
