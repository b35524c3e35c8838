"""A user's Discord webhook: registering it, showing it masked, sending a test to it, removing it.

Each user has at most one; it is stored as their one `Address` on the Discord channel, its URL
encrypted (the token in it is all it takes to post to their server) and shown masked. Registering
sends nothing: only Discord's own webhook URLs are accepted (`channels.discord.parse_webhook_url`),
and the address counts as verified from then on: the URL's shape is all that can be checked without
posting to the user's server, and the first send that Discord refuses (a deleted webhook) disables
it and tells the user, as for any channel. "Send a test" is there to prove it before a deal comes.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from dealalerts.encryption import digest

from . import test_sends
from .channels import discord
from .models import Address
from .preferences import turn_off_channel

CHANNEL = "discord"


@dataclass(frozen=True)
class WebhookStatus:
    """A user's webhook as its owner sees it: never the token."""

    masked: str
    webhook_id: str
    added_at: datetime
    disabled_reason: str  # why Discord stopped taking it; "" while it works
    last_error: str


def webhook_status(user: User) -> WebhookStatus | None:
    address = Address.objects.filter(user=user, channel=CHANNEL).order_by("-id").first()
    if address is None:
        return None
    try:
        webhook_id = discord.parse_webhook_url(address.value).id
    except ValidationError:  # not one of Discord's (stored before these rules): it is never sent to either
        webhook_id = ""
    return WebhookStatus(
        masked=address.label,
        webhook_id=webhook_id,
        added_at=address.created_at,
        disabled_reason=address.disabled_reason if address.disabled_at else "",
        last_error=address.last_error,
    )


def register(user: User, webhook_url: str) -> WebhookStatus:
    """Make this webhook the user's (replacing any other); `ValidationError` naming `webhook_url` when
    it is not one of Discord's. Nothing is sent."""
    webhook = discord.parse_webhook_url(webhook_url)
    with transaction.atomic():
        Address.objects.filter(user=user, channel=CHANNEL).delete()
        Address.objects.create(
            user=user,
            channel=CHANNEL,
            key=digest(webhook.url),
            value=webhook.url,
            label=webhook.masked,
            verified_at=timezone.now(),
        )
    status = webhook_status(user)
    assert status is not None
    return status


def remove(user: User) -> None:
    """Forget the user's webhook and take Discord out of their channels, together."""
    with transaction.atomic():
        Address.objects.filter(user=user, channel=CHANNEL).delete()
        turn_off_channel(user.pk, CHANNEL)


def send_test(user: User) -> test_sends.TestSend:
    """A test embed to the user's webhook; `NotReachable` when they have none (or it was disabled)."""
    return test_sends.send_test(user, CHANNEL)
