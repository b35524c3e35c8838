"""The signed "Stop watching" link a price-drop message carries: it works from an email, with no session.

The token names one watch: the item and when it was made. A link from an old email therefore stops
only the watch it was about: after the user removed it and watched the listing again (perhaps with
another target), the old link says the watch is gone and leaves the new one alone. It is signed with
its own salt (a token made for another purpose never passes) and expires: a link forwarded or found
months later removes nothing.
"""

from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.core import signing
from django.urls import reverse

STOP_SALT = "watchlist.stop"
STOP_MAX_AGE = timedelta(days=90)


@cache
def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=STOP_SALT)


def made_at(created_at: datetime) -> int:
    """A watch's creation time as the token carries it: whole microseconds since the epoch."""
    return round(created_at.timestamp() * 1_000_000)


def stop_token(item_id: int, created_at: datetime) -> str:
    return _signer().sign(f"{item_id}.{made_at(created_at)}")


def watch_from_stop_token(token: str) -> tuple[int, int] | None:
    """(item_id, made_at) of a good token; None when it is damaged, forged or expired."""
    try:
        item_id, created = _signer().unsign(token, max_age=STOP_MAX_AGE).split(".")
        return int(item_id), int(created)
    except (signing.BadSignature, ValueError):  # SignatureExpired is a BadSignature
        return None


def stop_url(item_id: int, created_at: datetime) -> str:
    return f"{_stop_prefix(settings.SITE_URL)}{stop_token(item_id, created_at)}/"


@cache
def _stop_prefix(site_url: str) -> str:
    """Reversed once per site URL, not once per message (as `notifications.links` does)."""
    return site_url.rstrip("/") + reverse("watchlist:stop", args=["TOKEN"]).removesuffix("TOKEN/")
