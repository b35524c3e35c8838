"""Signed links that must work from an email, with no session: unsubscribe and tracked clicks.

A digest run builds hundreds of thousands of these, so URL prefixes are reversed once and the
tokens are plain salted HMAC signatures of short strings (no JSON, no compression).
"""

from functools import cache

from django.conf import settings
from django.core import signing
from django.urls import reverse

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
CLICK_SALT = "notifications.click"
OPEN_SALT = "notifications.open"


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


@cache
def _signer(salt: str) -> signing.Signer:
    return signing.Signer(salt=salt)


def _prefix(url_name: str) -> str:
    """The absolute URL of `url_name` up to its token argument."""
    return _prefix_for_site(url_name, settings.SITE_URL)


@cache
def _prefix_for_site(url_name: str, site_url: str) -> str:
    return site_url.rstrip("/") + reverse(url_name, args=["TOKEN"]).removesuffix("TOKEN/")


def unsubscribe_token(user_id: int) -> str:
    # No expiry: RFC 8058 links must keep working for as long as the mail sits in an inbox.
    return _signer(UNSUBSCRIBE_SALT).sign(str(user_id))


def user_from_unsubscribe_token(token: str) -> int | None:
    try:
        return int(_signer(UNSUBSCRIBE_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def unsubscribe_url(user_id: int) -> str:
    return f"{_prefix('notifications:unsubscribe')}{unsubscribe_token(user_id)}/"


def click_url(notification_id: int, channel: str) -> str:
    token = _signer(CLICK_SALT).sign(f"{notification_id}.{channel}")
    return f"{_prefix('notifications:click')}{token}/"


def click_from_token(token: str) -> tuple[int, str] | None:
    try:
        notification_id, channel = _signer(CLICK_SALT).unsign(token).split(".", 1)
        return int(notification_id), channel
    except (signing.BadSignature, ValueError):
        return None


def open_url(digest_id: int) -> str:
    """The digest's open pixel: a signed token of its id, so a guessed URL records nothing."""
    token = _signer(OPEN_SALT).sign(str(digest_id))
    return f"{_open_prefix(settings.SITE_URL)}{token}.gif"


@cache
def _open_prefix(site_url: str) -> str:
    # The token sits before ".gif", not before a slash as in the other links.
    return site_url.rstrip("/") + reverse("notifications:open", args=["TOKEN"]).removesuffix("TOKEN.gif")


def digest_from_open_token(token: str) -> int | None:
    try:
        return int(_signer(OPEN_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def watch_url(listing_id: int) -> str:
    """The watchlist's "Watch this listing" page (a form: only its POST watches anything).

    Built from its fixed path: notifications sit below the watchlist and never import it.
    """
    return f"{settings.SITE_URL.rstrip('/')}/watchlist/watch/{listing_id}/"


def settings_url() -> str:
    return _page_url("notifications:settings", settings.SITE_URL)


def history_url() -> str:
    return _page_url("notifications:history", settings.SITE_URL)


@cache
def _page_url(url_name: str, site_url: str) -> str:
    return site_url.rstrip("/") + reverse(url_name)
