"""What Twilio tells us after a text left: replies (STOP, START, HELP) and each text's fate.

Replies follow the CTIA keywords Twilio itself honours on long codes: after STOP, Twilio refuses
our texts to that number (error 21610) until the person sends START, so the number's address is
marked opted out at once (deals go by the user's other channels, saying why) and START clears it.
SMS stays as the user set it in their settings: a START never turns on what they had not.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from accounts.models import User
from activity.log import Kind
from dealalerts.encryption import digests

from . import addresses, channels, delivery, links
from .models import Delivery, DeliveryStatus
from .preferences import addresses_on, policy_preferences, stored_addresses

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
# Twilio's codes for a text it accepted and then could not hand over (https://www.twilio.com/docs/api/errors).
FAILED_AFTER_ACCEPTANCE = {
    30003: "the phone is off or out of reach",
    30004: "the number blocks our texts",
    30005: "the number does not exist",
    30006: "the number is a landline or cannot receive texts",
    30007: "the carrier filtered the text",
    30008: "the carrier failed to deliver it",
}
DEAD_NUMBER_CODES = frozenset({30005, 30006})
FINAL_FAILURES = frozenset({"failed", "undelivered"})


@dataclass(frozen=True)
class Reply:
    """What to text back, if anything ("" says nothing: Twilio answers STOP and START itself)."""

    text: str = ""


def users_texting_from(phone: str) -> list[User]:
    """Users whose verified-or-not phone is this number (found by its keyed digest, never decrypted)."""
    return list(User.objects.filter(phone_digest__in=digests(phone)).select_related("notification_preferences"))


def received(from_: str, body: str, now: datetime | None = None) -> Reply:
    """A text someone sent to our number."""
    now = now or timezone.now()
    word = " ".join(body.split()).upper()
    if word in STOP_WORDS:
        for address in _addresses_of(from_):
            addresses.opt_out(address, now)
        return Reply()
    if word in START_WORDS:
        for address in _addresses_of(from_):
            addresses.opt_in(address)
        return Reply()
    if word in HELP_WORDS:
        return Reply(
            "Deal Alerts: texts about the deals you asked for, at most 5 a day. "
            f"Reply STOP to stop, START to resume. Settings: {links.settings_url()}"
        )
    return Reply()


def _addresses_of(phone: str) -> list:
    """This number's SMS address of each user who entered it (its row made if it has none yet)."""
    sms = channels.get("sms")
    keys = set(digests(phone))
    return [addresses.record(a) for user in users_texting_from(phone) for a in addresses_on(user, sms) if a.key in keys]


def status_reported(key: str, message_sid: str, status: str, error_code: str, now: datetime | None = None) -> bool:
    """Twilio's report on a text we sent: recorded on its delivery; a failure after acceptance falls back.

    Only a text we sent counts: the key in the callback URL and Twilio's message SID must name the
    same delivery. Returns whether one did.
    """
    now = now or timezone.now()
    found = (
        Delivery.objects.filter(dedup_key=key, channel="sms")
        .select_related("notification__listing", "notification__user__notification_preferences")
        .first()
    )
    # Our text: the key we put in its callback URL and, once recorded, the SID Twilio gave it. A callback
    # may beat the worker's record of the SID; the signature already says Twilio sent it for this key.
    if found is None or not message_sid or (found.provider_id and found.provider_id != message_sid) or not status:
        return False
    Delivery.objects.filter(pk=found.pk).update(provider_event=status[:20], provider_event_at=now)
    code = int(error_code) if error_code.isdecimal() else None
    if status not in FINAL_FAILURES or found.status != DeliveryStatus.SENT:
        return True
    sms = channels.get("sms")
    words = FAILED_AFTER_ACCEPTANCE.get(code or 0, "the carrier did not deliver it")
    error = f"Twilio {code}: {words}" if code else f"Twilio: {status}, {words}"
    failed = Delivery.objects.filter(pk=found.pk, status=DeliveryStatus.SENT).update(
        status=DeliveryStatus.FAILED, last_error=error
    )
    if failed:
        user = found.notification.user
        stored = stored_addresses([user.pk])[user.pk]
        attempt = delivery.Attempt(
            found, policy_preferences(user, user.notification_preferences, stored), addresses_on(user, sms, stored)
        )
        sent_on = (found.sent_at or now).astimezone(user.time_zone).date()
        delivery.unreserve(found, sent_on)  # it never reached them: it does not count toward that day's five
        attempt.note(Kind.NOTIFICATION_FAILED, detail=error, now=now)
        delivery.fail(attempt, channels.Permanent(error, address_dead=code in DEAD_NUMBER_CODES), now)
    return True
