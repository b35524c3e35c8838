"""Addresses that stop working: disabled once, the user told once, whatever the channel.

healthchecks' users complain that a disabled integration goes silent (healthchecks#613); here the
user gets one email saying which address stopped, why (the provider's words) and where to fix it,
and the settings page and the history say the same.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from activity import log
from activity.models import Kind

from . import channels, emails, links
from .content import composed_message
from .models import Address
from .preferences import addresses_on, policy_preferences, preferences_for, verified_channels


def record(address: Address, **state: object) -> Address:
    """The stored row of an address, made when it has some state to keep (email and phone rows are lazy)."""
    if address.pk is None:
        address, _ = Address.objects.get_or_create(
            user_id=address.user_id,
            channel=address.channel,
            key=address.key,
            defaults={"label": address.label, **state},
        )
    return address


def disable(address: Address, reason: str, now: datetime | None = None) -> bool:
    """Stop using a dead address and tell its owner, once; True when this call disabled it.

    The reason is the provider's answer ("Twilio 21614: not a mobile number"): the user sees it on
    the settings page and in the history, and staff in admin.
    """
    now = now or timezone.now()
    reason = reason[:200]
    row = record(address)
    newly = Address.objects.filter(pk=row.pk, disabled_at__isnull=True).update(
        disabled_at=now, disabled_reason=reason, last_error=reason, last_error_at=now
    )
    address.pk, address.disabled_at, address.disabled_reason = row.pk, now, reason
    # A dead email address cannot be told by email; the pages say it. One address of several going
    # (a browser of several, for push) is not news: the others still get the deals, and the settings
    # page lists it as stopped.
    if newly and address.channel != "email" and not _others_usable(row):
        from .tasks import tell_address_disabled

        user = address.user
        prefs = policy_preferences(user, preferences_for(user))
        at = prefs.wait_until(now, urgent=False)  # an account notice keeps quiet hours too
        transaction.on_commit(lambda: tell_address_disabled.apply_async(args=[row.pk], eta=at))
    return bool(newly)


def opt_out(address: Address, now: datetime | None = None) -> None:
    """The person asked the provider to stop (STOP, or Twilio's 21610): nothing more goes to this address
    until they opt back in. Recorded every time, so the latest STOP is the one shown."""
    row = record(address)
    now = now or timezone.now()
    Address.objects.filter(pk=row.pk).update(opted_out_at=now)
    if row.opted_out_at is None and row.channel == "sms":
        log.record(Kind.SMS_OPTED_OUT, now=now, user_id=row.user_id, channel="sms", ref_id=row.pk)
    address.pk, address.opted_out_at = row.pk, now


def opt_in(address: Address) -> bool:
    """START: the address may be used again; True when it had opted out."""
    if address.pk is None:
        return False
    address.opted_out_at = None
    back = bool(Address.objects.filter(pk=address.pk, opted_out_at__isnull=False).update(opted_out_at=None))
    if back and address.channel == "sms":
        log.record(Kind.SMS_OPTED_IN, user_id=address.user_id, channel="sms", ref_id=address.pk)
    return back


def honour(addresses: list[Address], outcome: channels.Permanent, now: datetime | None = None) -> None:
    """What a provider's final refusal means for the addresses it was sent to: dead ones disabled, opt-outs kept."""
    for address in addresses:
        if outcome.address_dead and address.disabled_at is None:
            disable(address, outcome.error, now)
        elif outcome.opted_out and address.opted_out_at is None:
            opt_out(address, now)


def _others_usable(address: Address) -> bool:
    return (
        Address.objects.filter(
            user_id=address.user_id, channel=address.channel, verified_at__isnull=False, disabled_at__isnull=True
        )
        .exclude(pk=address.pk)
        .exists()
    )


def notice_message(address: Address) -> channels.Message | None:
    """The email telling a user an address stopped working; None when email cannot reach them either."""
    user: User = address.user
    if "email" not in verified_channels(user, preferences_for(user)):
        return None
    label = channels.LABELS.get(address.channel, address.channel)
    what = f"{label} to {address.label}" if address.label else label
    composed = emails.compose(
        "notice",
        {
            "subject": f"We stopped sending {what}",
            "headline": f"We stopped sending {what}",
            "lines": [
                f"The last message was refused: {address.disabled_reason}",
                f"Until you fix it in your settings, deals go to your other channels: "
                f"{channels.SETUP_HINTS.get(address.channel, '')}.",
            ],
            "action_label": "Open your notification settings",
            "action_url": links.settings_url(),
            "settings_url": links.settings_url(),
        },
    )
    return composed_message("notice", composed, user_id=user.pk, metadata={"address_id": str(address.pk)})


def tell_disabled(address_id: int) -> channels.Result | None:
    """Send the notice email for a disabled address; None when there is nothing to send or no one to send it to."""
    address = Address.objects.select_related("user").filter(pk=address_id, disabled_at__isnull=False).first()
    if address is None:
        return None
    message = notice_message(address)
    if message is None:
        return None
    email = channels.get("email")
    [to] = addresses_on(address.user, email)
    with email.session():
        return email.send(to, message, f"address-{address.pk}-disabled-{address.disabled_at:%Y%m%d%H%M%S}")
