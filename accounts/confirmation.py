"""Email confirmation: a signed, expiring link; following it confirms the address; resends are rate-limited.

The link carries the user's id and address signed with the secret key (Django's `TimestampSigner`),
so nothing is stored per link, a link for an address the user has since changed confirms nothing,
and a link older than `LINK_MAX_AGE` is refused. Confirmation mail is transactional: it goes straight
through Django's email backend, not through the notification outbox (which is for deals).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

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
# At most one link a minute and five a day per user: (window, sends allowed in it).
SEND_LIMITS = ((timedelta(minutes=1), 1), (timedelta(days=1), 5))
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


def wait_before_sending(sent_at: list[datetime], now: datetime) -> timedelta:
    """How long until another link may go out, given the earlier sends; zero when it may go now."""
    waits = []
    for window, allowed in SEND_LIMITS:
        inside = sorted(t for t in sent_at if t > now - window)
        if len(inside) >= allowed:
            waits.append(inside[-allowed] + window - now)  # when the oldest counted send leaves the window
    return max(waits, default=timedelta(0))


def _sends_key(user_id: int) -> str:
    return f"accounts:confirmation-sends:{user_id}"


def send(user: User, now: datetime | None = None) -> timedelta:
    """Email a confirmation link unless the limits say wait; returns how long to wait (zero: sent)."""
    now = now or timezone.now()
    longest = max(window for window, _ in SEND_LIMITS)
    sent_at = [t for t in cache.get(_sends_key(user.pk), []) if t > now - longest]
    wait = wait_before_sending(sent_at, now)
    if wait > timedelta(0):
        return wait
    cache.set(_sends_key(user.pk), [*sent_at, now], timeout=int(longest.total_seconds()))
    context = {"user": user, "url": confirmation_url(user), "days": LINK_MAX_AGE.days}
    message = EmailMultiAlternatives(
        subject="Confirm your email address for Deal Alerts",
        body=render_to_string("accounts/email/confirm_email.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("accounts/email/confirm_email.html", context), "text/html")
    message.send()
    return timedelta(0)


def send_after_commit(user: User) -> None:
    """Send the first link once the new user's row is committed, so the link never names a rolled-back account."""
    transaction.on_commit(lambda: send(user))


def wait_in_words(wait: timedelta, user: User, now: datetime | None = None) -> str:
    """ "in 42 seconds" or "after 14:05" (the user's clock), for "You can ask for another link …"."""
    seconds = max(1, int(wait.total_seconds() + 0.999))
    if seconds < 120:
        return f"in {seconds} seconds"
    now = now or timezone.now()
    at = (now + wait).astimezone(user.time_zone)
    same_day = at.date() == now.astimezone(user.time_zone).date()
    return f"after {at:%H:%M}" if same_day else f"after {at:%b %-d, %H:%M}"
