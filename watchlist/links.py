"""The signed "Stop watching" link a price-drop message carries: it works from an email, with no session.

The token names a watch by (user, listing), the pair a watchlist holds once, so a link from an old
email still stops the user's current watch of that listing if they watched it again. It is signed
with its own salt (a token made for another purpose never passes) and expires: a link forwarded or
found months later removes nothing.
"""

from datetime import timedelta
from functools import cache

from django.conf import settings
from django.core import signing
from django.urls import reverse

STOP_SALT = "watchlist.stop"
STOP_MAX_AGE = timedelta(days=90)


@cache
def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=STOP_SALT)


def stop_token(user_id: int, listing_id: int) -> str:
    return _signer().sign(f"{user_id}.{listing_id}")


def watch_from_stop_token(token: str) -> tuple[int, int] | None:
    """(user_id, listing_id) of a good token; None when it is damaged, forged or expired."""
    try:
        user_id, listing_id = _signer().unsign(token, max_age=STOP_MAX_AGE).split(".")
        return int(user_id), int(listing_id)
    except (signing.BadSignature, ValueError):  # SignatureExpired is a BadSignature
        return None


def stop_url(user_id: int, listing_id: int) -> str:
    return f"{_stop_prefix(settings.SITE_URL)}{stop_token(user_id, listing_id)}/"


@cache
def _stop_prefix(site_url: str) -> str:
    """Reversed once per site URL, not once per message (as `notifications.links` does)."""
    return site_url.rstrip("/") + reverse("watchlist:stop", args=["TOKEN"]).removesuffix("TOKEN/")
