"""Email confirmation: a signed, expiring link; following it confirms the address; resends are rate-limited.

The link carries the user's id and address signed with the secret key (Django's `TimestampSigner`),
so nothing is stored per link, a link for an address the user has since changed confirms nothing,
and a link older than `LINK_MAX_AGE` is refused. Confirmation mail is transactional: a Celery task
sends it straight through Django's email backend, not through the notification outbox (which is for deals).
"""

import contextlib
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from anymail.exceptions import AnymailRecipientsRefused, AnymailRequestsAPIError
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import User

LINK_MAX_AGE = timedelta(days=3)
# A user may ask for at most one new link a minute and five a day (a day from their first request).
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
PER_DAY = 5
_SALT = "accounts.email-confirmation"


def make_token(user: User) -> str:
    return signing.TimestampSigner(salt=_SALT).sign_object({"u": user.pk, "e": user.email})


def confirmation_url(user: User) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("accounts:confirm-email", args=[make_token(user)])


@dataclass(frozen=True)
class Checked:
    """What a link turned out to be: `user` set when it confirmed (now or before); else `problem`."""

    user: User | None = None
    problem: str = ""  # "expired" or "invalid"
    expired_user_id: int | None = None  # whose link expired, so a new one can be offered


def confirm(token: str, now: datetime | None = None) -> Checked:
    """Confirm the address a link was sent to; following it twice is the same as once."""
    signer = signing.TimestampSigner(salt=_SALT)
    try:
        payload = signer.unsign_object(token, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired:
        payload = signer.unsign_object(token)  # the signature is good, only old: say whose it was
        return Checked(problem="expired", expired_user_id=payload.get("u"))
    except signing.BadSignature:
        return Checked(problem="invalid")
    user = User.objects.filter(pk=payload.get("u"), email=payload.get("e")).first()
    if user is None:  # the account is gone, or its address changed since the link was sent
        return Checked(problem="invalid")
    if user.email_confirmed_at is None:
        User.objects.filter(pk=user.pk, email_confirmed_at__isnull=True).update(
            email_confirmed_at=now or timezone.now()
        )
        user.refresh_from_db(fields=["email_confirmed_at"])
    return Checked(user=user)


class EmailRefused(Exception):
    """The mail server or ESP refused the message for good: sending it again would not help."""


# Confirmation mail errors worth another try (the task retries them with backoff): a mail server
# or ESP that is down, slow or says "try later". A refused address or a 5xx is final.
def worth_retrying(error: Exception) -> bool:
    if isinstance(error, (smtplib.SMTPRecipientsRefused, AnymailRecipientsRefused)):
        return False
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, AnymailRequestsAPIError):
        return error.status_code is None or error.status_code == 429 or error.status_code >= 500
    return isinstance(error, OSError)  # refused connection, timeout, dropped session (SMTPException is one)


def send_email(user_id: int) -> bool:
    """Email a fresh link to the user's current address; False when there is nothing to confirm.

    Runs in the worker (task `accounts.send_confirmation_email`), so a failing mail server never
    fails a page; errors `worth_retrying` are raised for the task to retry, others as `EmailRefused`.
    """
    user = User.objects.filter(pk=user_id, email_confirmed_at__isnull=True).first()
    if user is None:  # confirmed meanwhile, or gone
        return False
    context = {"user": user, "url": confirmation_url(user), "days": LINK_MAX_AGE.days}
    message = EmailMultiAlternatives(
        subject="Confirm your email address for Deal Alerts",
        body=render_to_string("accounts/email/confirm_email.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("accounts/email/confirm_email.html", context), "text/html")
    try:
        message.send()
    except Exception as error:
        if worth_retrying(error):
            raise
        raise EmailRefused(f"{type(error).__name__}: {error}") from error
    return True


def _enqueue(user_id: int) -> None:
    from .tasks import send_confirmation_email  # the task module imports this one

    send_confirmation_email.delay(user_id)


def send_after_commit(user: User, *, counted: bool = True) -> None:
    """Queue a link for a new account or address once its row is committed (never naming a rolled-back one).

    `counted`: the sign-up's link counts against the user's limits, as if they had asked for it; links
    staff send do not. `robust`: a broker that is down is logged, not raised, so the sign-up or admin
    save still succeeds; the user can ask for a link later.
    """
    transaction.on_commit(lambda: resend(user) if counted else _enqueue(user.pk), robust=True)


def _minute_key(user_id: int) -> str:
    return f"accounts:confirmation-minute:{user_id}"


def _day_keys(user_id: int) -> tuple[str, str]:
    return f"accounts:confirmation-day-start:{user_id}", f"accounts:confirmation-day-count:{user_id}"


def _reserve(user_id: int, now: datetime) -> timedelta:
    """Take one of the user's requests for a link, atomically; returns how long to wait (zero: taken).

    `cache.add` only writes a missing key and `cache.incr` counts in one step (locmem and Redis alike),
    so two requests at once cannot both pass: the minute's key admits one, the day's counter five.
    """
    if not cache.add(_minute_key(user_id), now.timestamp(), timeout=int(MINUTE.total_seconds())):
        taken_at = cache.get(_minute_key(user_id), now.timestamp())
        return _at_least_a_second(datetime.fromtimestamp(taken_at, tz=UTC) + MINUTE - now)
    start_key, count_key = _day_keys(user_id)
    cache.add(start_key, now.timestamp(), timeout=int(DAY.total_seconds()))
    cache.add(count_key, 0, timeout=int(DAY.total_seconds()))
    if cache.incr(count_key) > PER_DAY:
        cache.decr(count_key)
        cache.delete(_minute_key(user_id))  # refused by the day's limit: this request took nothing
        started = cache.get(start_key, now.timestamp())
        return _at_least_a_second(datetime.fromtimestamp(started, tz=UTC) + DAY - now)
    return timedelta(0)


def _release(user_id: int) -> None:
    """Give back a request whose link could not be queued."""
    cache.delete(_minute_key(user_id))
    with contextlib.suppress(ValueError):  # the counter expired meanwhile
        cache.decr(_day_keys(user_id)[1])


def _at_least_a_second(wait: timedelta) -> timedelta:
    return max(wait, timedelta(seconds=1))


@dataclass(frozen=True)
class ResendResult:
    """What came of asking for a new link; every page and the API show `message`."""

    sent: bool
    already_confirmed: bool = False
    wait: timedelta = timedelta(0)
    wait_text: str = ""  # "in 42 seconds", "after 14:05"
    message: str = ""


def resend(user: User, now: datetime | None = None) -> ResendResult:
    """Queue a new link unless the address is confirmed or the limits say wait (one a minute, five a day).

    The request counts only once its email task is queued: if queueing fails, it is given back.
    """
    if user.email_confirmed_at is not None:
        return ResendResult(sent=False, already_confirmed=True, message=f"{user.email} is already confirmed.")
    now = now or timezone.now()
    wait = _reserve(user.pk, now)
    if wait:
        text = wait_in_words(wait, user, now)
        return ResendResult(
            sent=False,
            wait=wait,
            wait_text=text,
            message=f"We sent you a link a short while ago. You can ask for another one {text}.",
        )
    try:
        _enqueue(user.pk)
    except Exception:
        _release(user.pk)
        raise
    return ResendResult(
        sent=True, message=f"We are sending a new link to {user.email}. It works for {LINK_MAX_AGE.days} days."
    )


def wait_in_words(wait: timedelta, user: User, now: datetime | None = None) -> str:
    """ "in 42 seconds" or "after 14:05" (the user's clock), for "You can ask for another link …"."""
    seconds = max(1, int(wait.total_seconds() + 0.999))
    if seconds < 120:
        return f"in {seconds} seconds"
    now = now or timezone.now()
    at = (now + wait).astimezone(user.time_zone)
    same_day = at.date() == now.astimezone(user.time_zone).date()
    return f"after {at:%H:%M}" if same_day else f"after {at:%b %-d, %H:%M}"
