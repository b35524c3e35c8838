"""SMS, through Twilio (`twilio`): to the user's verified mobile number, at most five deals a day.

A text carries one deal in one GSM-7 segment (title, price, tracked link); an urgent one has a
short validity period, so a deal Twilio could not hand over in time is dropped rather than
delivered stale. Twilio reports what happened next to our status callback, and replies (STOP,
START, HELP) to our inbound webhook: both in `notifications.sms`.
"""

import re
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from dealalerts.encryption import digests

from . import twilio
from .base import Channel, Message, Result

if TYPE_CHECKING:
    from accounts.models import User

    from ..models import Address


class SmsChannel(Channel):
    name = "sms"
    label = "SMS"
    in_words = "SMS"
    setup_hint = "add and verify a mobile number first"
    daily_cap = 5
    unverified_words = "not verified yet: enter the code we texted you"
    disabled_words = "off because your number cannot receive our texts"
    opted_out_words = "off because you replied STOP: reply START to turn texts back on"

    def addresses(self, user: "User", stored: list["Address"]) -> list["Address"]:
        """The user's mobile number, verified when they entered the code we texted, with its row's state."""
        from ..models import Address  # models import the channel list

        if not user.phone_number:
            return []
        keys = digests(user.phone_number)
        address = next((a for a in stored if a.key in keys), None) or Address(user=user, channel=self.name, key=keys[0])
        address.value, address.label = user.phone_number, twilio.mask_phone(user.phone_number)
        if not user.phone_verified:
            address.verified_at = None  # a new code is awaited for this number
        return [address]

    def send(self, address: "Address", message: Message, key: str) -> Result:
        if message.headline:
            body = _news_text(message)
        else:
            body = twilio.sms_text(message.title, message.price, message.link, prefix=_prefix(message))
        return twilio.send_text(
            address.value,
            body,
            status_callback=status_callback_url(key),
            validity_s=settings.SMS_URGENT_VALIDITY_S if message.urgent else None,
        )


def _news_text(message: Message) -> str:
    """News about a watched listing as one segment, "Price drop: ThinkPad T14 dropped to $310 (-18%, was $380)":
    the whole headline when the title fits beside it, else its main clause (the part before " — " or
    "; "), so the listing's name is not cut away for the sake of "below your $320 target"."""
    prefix = message.news or _prefix(message)
    title, news = _split_headline(message.headline, message.title)
    whole = twilio.sms_text(title, news, message.link, prefix=prefix, sep=" ")
    main = re.split(" — |; ", news, maxsplit=1)[0]
    if main == news or whole.startswith(f"{prefix}: {' '.join(twilio.to_gsm7(title).split())} "):
        return whole
    return twilio.sms_text(title, main, message.link, prefix=prefix, sep=" ")


def _split_headline(headline: str, title: str) -> tuple[str, str]:
    """("ThinkPad T14", "dropped to $310 (…)") from a headline that starts with the title, so the
    title can be cut to fit and the news kept; else ("", the whole headline)."""
    if title and headline.startswith(title):
        return title, headline[len(title) :].strip()
    return "", headline


def _prefix(message: Message) -> str:
    if message.kind == "test":
        return "Deal Alerts test"
    return "Urgent deal" if message.urgent else "Deal"


def status_callback_url(key: str) -> str:
    """Where Twilio reports this text's fate; the key finds the delivery again."""
    return f"{_status_url(settings.SITE_URL)}?d={key}"


@cache
def _status_url(site_url: str) -> str:
    """Reversed once per site URL, not once per text (as `links` does for its prefixes)."""
    return site_url.rstrip("/") + reverse("twilio-status")
