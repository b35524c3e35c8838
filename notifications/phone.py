"""A user's phone for SMS: entering it, proving it with a texted one-time code, removing it.

The code is 6 digits from `secrets`, kept only as a salted HMAC, good for 10 minutes and once; 5
wrong tries end it, and a new code replaces the one before. Codes cost money and SMS-pumping fraud
goes after exactly this endpoint, so they are limited per phone, per user and per client address
(`accounts.rate_limits`, windows of SMS_CODE_WINDOW_SECONDS), and a user waits
SMS_CODE_RESEND_SECONDS between two codes.

The code is texted within the request, not from a worker: Twilio answers in well under a second,
and its refusal of a number (not a mobile, a landline: 21211, 21614) can then be shown at once
beside the number the user typed, with nothing stored. Only a number Twilio accepted is saved.
"""

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts import rate_limits
from accounts.models import PhoneVerification, User
from accounts.phones import mask_phone, parse_mobile
from activity import log
from activity.models import Kind
from dealalerts import encryption

from .channels.base import Permanent, Transient
from .channels.twilio import send_text
from .models import Address
from .preferences import turn_off_channel

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_WRONG_TRIES = 5
# GSM-7 only, one segment: the cheapest text, and no carrier mangles it.
CODE_TEXT = "Deal Alerts code: {code}. It expires in 10 minutes. Reply STOP to opt out."
CODE_PATTERN = re.compile(r"[0-9]{6}", re.ASCII)
KEY_PREFIX = "phone-codes"
ASK_AGAIN = "Ask for a new code."


@dataclass(frozen=True)
class PhoneStatus:
    """A user's phone as its owner sees it."""

    phone_number: str  # E.164; "" when none
    verified: bool
    masked: str  # "+1 •••-•••-0123"; "" when none
    code_pending: bool  # a code was texted and can still be entered
    resend_after: int  # seconds until another code may be asked for (0: now)

    @property
    def has_phone(self) -> bool:
        return bool(self.phone_number)


class CodeLimitReached(Exception):
    """Too many codes asked for (or too soon after the last): try again in `retry_after` seconds."""

    def __init__(self, retry_after: int, message: str) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class SmsUnavailable(Exception):
    """The SMS provider could not take the text now; nothing was stored."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__("We could not send the code just now. Please try again in a minute.")


def now() -> datetime:
    return timezone.now()


def _in_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return f"{minutes} minutes"


def _code_hash(code: str, salt: str) -> str:
    return salted_hmac(f"dealalerts.phone-code:{salt}", code, algorithm="sha256").hexdigest()


def _resend_key(user: User) -> str:
    return f"{KEY_PREFIX}:resend:{user.pk}"


def resend_wait(user: User) -> int:
    """Seconds until this user may ask for another code (0: now)."""
    until = cache.get(_resend_key(user))
    return max(0, int(until - rate_limits.now() + 0.999)) if until else 0


def _claim_resend(user: User) -> None:
    """Start the wait between two codes, or refuse when one is running (atomic: `cache.add`)."""
    wait_s = settings.SMS_CODE_RESEND_SECONDS
    if wait_s and not cache.add(_resend_key(user), rate_limits.now() + wait_s, wait_s):
        wait = max(1, resend_wait(user))
        raise CodeLimitReached(wait, f"A code was just sent. You can ask for another in {_in_words(wait)}.")


def _count_codes(user: User, phone: str, client_ip: str) -> None:
    """Count this code against the phone, the user and the address; refuse past any limit."""
    at = rate_limits.now()
    window_s = settings.SMS_CODE_WINDOW_SECONDS
    counted = [
        ("phone", encryption.digest(phone), settings.SMS_CODES_PER_PHONE),
        ("user", str(user.pk), settings.SMS_CODES_PER_USER),
        ("address", rate_limits.hashed(client_ip or "unknown"), settings.SMS_CODES_PER_ADDRESS),
    ]
    wait = 0
    for kind, who, allowed in counted:
        limit = rate_limits.Limit(allowed, window_s)
        key = f"{KEY_PREFIX}:{kind}:{rate_limits.window(limit, at)}:{who}"
        wait = max(wait, rate_limits.wait_seconds(rate_limits.count(key, window_s + 60), limit, at))
    if wait:
        raise CodeLimitReached(wait, f"Too many codes were asked for. Try again in {_in_words(wait)}.")


def _refused_number(result: Permanent) -> ValidationError:
    if result.opted_out:
        message = "That number replied STOP to our texts. Text START to us from it, then try again."
    elif result.address_dead:  # Twilio 21211, 21614, 21635: not a number, not a mobile, a landline
        message = "That number cannot receive texts: it is not a mobile number, or not in service."
    else:
        message = f"We could not text that number ({result.error}). Check it, or try another."
    return ValidationError({"phone_number": [message]})


def start_verification(user: User, raw_phone: str, client_ip: str) -> PhoneStatus:
    """Text a new code to the number the user typed, and make it the user's (unverified) phone.

    Raises `ValidationError` naming `phone_number` (not a mobile number we may text, or refused by
    the provider), `CodeLimitReached` or `SmsUnavailable`; in each case nothing is stored.
    """
    try:
        phone = parse_mobile(raw_phone)
    except ValidationError as error:
        raise ValidationError({"phone_number": error.messages}) from None
    _claim_resend(user)
    try:
        _count_codes(user, phone, client_ip)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        result = send_text(phone, CODE_TEXT.format(code=code), validity_s=int(CODE_LIFETIME.total_seconds()))
    except BaseException:
        cache.delete(_resend_key(user))
        raise
    if isinstance(result, Permanent | Transient):
        cache.delete(_resend_key(user))  # nothing went out: the user may correct the number at once
        masked = mask_phone(phone)
        logger.info("phone code to %s for user %s not sent: %s", masked, user.pk, result.error.replace(phone, masked))
        if isinstance(result, Transient):
            raise SmsUnavailable(int(result.retry_after or 60))
        raise _refused_number(result)
    at = now()
    salt = secrets.token_hex(8)
    digest = encryption.digest(phone)
    with transaction.atomic():
        PhoneVerification.objects.filter(user=user).delete()  # a new code ends the one before
        PhoneVerification.objects.create(
            user=user,
            phone_number=phone,
            phone_digest=digest,
            code_hash=f"{salt}${_code_hash(code, salt)}",
            created_at=at,
            expires_at=at + CODE_LIFETIME,
        )
        User.objects.filter(pk=user.pk).update(phone_number=phone, phone_digest=digest, phone_verified=False)
    user.phone_number, user.phone_digest, user.phone_verified = phone, digest, False
    logger.info("phone code sent to %s for user %s", mask_phone(phone), user.pk)
    return PhoneStatus(phone, False, mask_phone(phone), True, settings.SMS_CODE_RESEND_SECONDS)


def _code_matches(row: PhoneVerification, otp: str) -> bool:
    salt, _, expected = row.code_hash.partition("$")
    return constant_time_compare(_code_hash(otp, salt), expected)


def _otp_error(message: str) -> ValidationError:
    return ValidationError({"otp": [message]})


def verify(user: User, otp: str) -> PhoneStatus:
    """Check the code the user typed; right and live, the phone is verified. `ValidationError` naming `otp` else.

    A wrong code is counted before the answer is given (and kept when the error is raised), so
    parallel guesses get no more tries than a sequence.
    """
    otp = otp.strip().replace(" ", "").replace("-", "") if isinstance(otp, str) else ""
    if not CODE_PATTERN.fullmatch(otp):
        raise _otp_error("Enter the 6-digit code we texted you.")
    at = now()
    with transaction.atomic():
        row = PhoneVerification.objects.select_for_update().filter(user=user).order_by("-created_at", "-id").first()
        if row is None or row.phone_digest != user.phone_digest:
            problem = f"No code is waiting to be entered. {ASK_AGAIN}"
        elif row.used_at is not None:
            problem = f"That code was already used. {ASK_AGAIN}"
        elif row.attempts >= MAX_WRONG_TRIES:
            problem = f"Too many wrong codes were tried. {ASK_AGAIN}"
        elif row.expires_at <= at:
            problem = f"That code has expired. {ASK_AGAIN}"
        elif not _code_matches(row, otp):
            PhoneVerification.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
            left = MAX_WRONG_TRIES - row.attempts - 1
            problem = (
                f"That code is not right. {left} tr{'ies' if left != 1 else 'y'} left."
                if left
                else f"That code is not right, and that was the last try. {ASK_AGAIN}"
            )
        else:
            problem = ""
            PhoneVerification.objects.filter(pk=row.pk).update(used_at=at)
            User.objects.filter(pk=user.pk).update(phone_verified=True)
            # The number's address on the SMS channel: verified now, and usable again if it was
            # disabled (a code just reached it, so it takes texts).
            Address.objects.bulk_create(  # one upsert
                [
                    Address(
                        user=user,
                        channel="sms",
                        key=user.phone_digest,
                        label=mask_phone(user.phone_number),
                        verified_at=at,
                    )
                ],
                update_conflicts=True,
                unique_fields=["user", "channel", "key"],
                update_fields=["label", "verified_at", "disabled_at", "disabled_reason"],
            )
        if not problem:
            log.record(Kind.SMS_OPTED_IN, now=at, user_id=user.pk, channel="sms")
    if problem:
        raise _otp_error(problem)
    user.phone_verified = True
    logger.info("phone %s verified for user %s", mask_phone(user.phone_number), user.pk)
    return PhoneStatus(user.phone_number, True, mask_phone(user.phone_number), False, resend_wait(user))


def remove_phone(user: User) -> None:
    """Forget the user's phone and any code, and turn SMS off, together."""
    with transaction.atomic():
        if user.phone_verified:
            log.record(Kind.SMS_OPTED_OUT, user_id=user.pk, channel="sms", detail="phone removed")
        User.objects.filter(pk=user.pk).update(phone_number="", phone_digest="", phone_verified=False)
        PhoneVerification.objects.filter(user=user).delete()
        turn_off_channel(user.pk, "sms")
    user.phone_number, user.phone_digest, user.phone_verified = "", "", False
    cache.delete(_resend_key(user))


def phone_status(user: User) -> PhoneStatus:
    """The user's phone, whether it is verified, and whether a code awaits (one query)."""
    if not user.phone_number:
        return PhoneStatus("", False, "", False, resend_wait(user))
    pending = (
        not user.phone_verified
        and PhoneVerification.objects.filter(
            user=user,
            phone_digest=user.phone_digest,
            used_at__isnull=True,
            attempts__lt=MAX_WRONG_TRIES,
            expires_at__gt=now(),
        ).exists()
    )
    return PhoneStatus(
        user.phone_number, user.phone_verified, mask_phone(user.phone_number), pending, resend_wait(user)
    )
