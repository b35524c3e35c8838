"""Signed links that must work from an email, with no session: unsubscribe and tracked clicks."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
CLICK_SALT = "notifications.click"


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_token(user_id: int) -> str:
    # No expiry: RFC 8058 links must keep working for as long as the mail sits in an inbox.
    return signing.dumps(user_id, salt=UNSUBSCRIBE_SALT, compress=True)


def user_from_unsubscribe_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=UNSUBSCRIBE_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def unsubscribe_url(user_id: int) -> str:
    return absolute(reverse("notifications:unsubscribe", args=[unsubscribe_token(user_id)]))


def click_url(notification_id: int, channel: str) -> str:
    token = signing.dumps([notification_id, channel], salt=CLICK_SALT, compress=True)
    return absolute(reverse("notifications:click", args=[token]))


def click_from_token(token: str) -> tuple[int, str] | None:
    try:
        notification_id, channel = signing.loads(token, salt=CLICK_SALT)
        return int(notification_id), str(channel)
    except (signing.BadSignature, TypeError, ValueError):
        return None


def settings_url() -> str:
    return absolute(reverse("notifications:settings"))
