"""What a notification says, for each kind of message; channels render it for their medium."""

from django.urls import reverse

from . import emails, links
from .models import Delivery, Notification


def deal_context(notification: Notification, channel: str) -> dict:
    listing = notification.listing
    return {
        "notification": notification,
        "listing": listing,
        "sources": notification.sources,
        "rule_names": notification.source_names,
        "view_url": links.click_url(notification.id, channel),
        "listing_url": links.absolute(reverse("listings:detail", args=[listing.id])),
        "settings_url": links.settings_url(),
        "unsubscribe_url": links.unsubscribe_url(notification.user_id),
    }


def deal_email(delivery: Delivery, *, connection=None):
    notification = delivery.notification
    composed = emails.compose("deal", deal_context(notification, delivery.channel))
    return emails.message(
        composed,
        to=notification.user.email,
        user_id=notification.user_id,
        message_key=f"delivery-{delivery.dedup_key}",
        metadata={
            "dedup_key": delivery.dedup_key,
            "delivery_id": str(delivery.id),
            "kind": "deal",
            "user_id": str(notification.user_id),
        },
        connection=connection,
    )
