"""Email, through whatever Django email backend is configured (an ESP via django-anymail, SMTP, console)."""

import smtplib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import requests
from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.conf import settings
from django.core.mail import get_connection
from requests.utils import get_netrc_auth

from .base import Channel, Permanent, Result, Sent, Transient

if TYPE_CHECKING:
    from accounts.models import User

    from ..models import Delivery, NotificationPreferences

POSTMARK_BACKEND = "anymail.backends.postmark.EmailBackend"


class EmailChannel(Channel):
    name = "email"
    label = "Email"
    in_words = "email"
    setup_hint = "email to your address bounced or was reported as spam; change your email address to turn it back on"

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def session(self) -> Iterator[None]:
        with get_connection() as connection:
            _resolve_environment_once(connection)
            self._local.connection = connection
            try:
                yield
            finally:
                self._local.connection = None

    def unreachable_because(self, user: "User", prefs: "NotificationPreferences") -> str:
        if not user.email:
            return "not set up"
        if prefs.email_suppressed_at is not None:
            return "off because mail to your address bounced or was marked as spam"
        if user.email_confirmed_at is None:
            return "not confirmed yet"
        return ""

    def blocked_because(self, user: "User", prefs: "NotificationPreferences") -> str:
        if prefs.email_suppressed_at is not None:
            return "email to this address bounced or was reported as spam"
        if user.email_confirmed_at is None:
            return "your email address changed and is not confirmed yet: use the link we sent"
        return ""

    def send(self, delivery: "Delivery") -> Result:
        from ..content import deal_email  # content imports models; keep channel import light

        message = deal_email(delivery, connection=getattr(self._local, "connection", None))
        return send_message(message)

    def can_find_sent(self) -> bool:
        return settings.EMAIL_BACKEND == POSTMARK_BACKEND

    def find_sent(self, delivery: "Delivery") -> str | None:
        """Postmark can search sent messages by metadata; other backends cannot be asked."""
        if not self.can_find_sent():
            return None
        anymail = settings.ANYMAIL
        base = anymail.get("POSTMARK_API_URL", "https://api.postmarkapp.com/")
        response = requests.get(
            base.rstrip("/") + "/messages/outbound",
            params={"count": 1, "offset": 0, "metadata_dedup_key": delivery.dedup_key},
            headers={"Accept": "application/json", "X-Postmark-Server-Token": anymail["POSTMARK_SERVER_TOKEN"]},
            timeout=10,
        )
        response.raise_for_status()
        found = response.json().get("Messages") or []
        return found[0].get("MessageID", "found") if found else None


def _resolve_environment_once(connection) -> None:
    """Read requests' environment settings once per batch instead of once per message.

    With `trust_env` (the default), every request re-reads the proxy variables, the CA bundle
    variables and ~/.netrc: about a tenth of a send. For an anymail HTTP backend's session, resolve
    them now for its API URL and pin them; the environment does not change within a batch.
    """
    session, api_url = getattr(connection, "session", None), getattr(connection, "api_url", None)
    if not isinstance(session, requests.Session) or not session.trust_env or not api_url:
        return  # SMTP, console, or nothing to resolve
    resolved = session.merge_environment_settings(api_url, {}, None, None, None)
    session.proxies = resolved["proxies"]
    session.verify = resolved["verify"]
    session.auth = session.auth or get_netrc_auth(api_url)
    session.trust_env = False


def send_message(message) -> Result:
    """Send one message and classify what happened: sent, worth retrying, or not."""
    try:
        message.send()
    except AnymailRecipientsRefused as error:
        return Permanent(f"recipient refused: {error}", address_dead=True)
    except AnymailRequestsAPIError as error:
        status = error.status_code
        if status is None or status == 429 or status >= 500:
            return Transient(str(error)[:500], retry_after=_retry_after(error.response))
        return Permanent(str(error)[:500])
    except AnymailError as error:
        return Permanent(str(error)[:500])
    except smtplib.SMTPRecipientsRefused as error:
        return Permanent(f"recipient refused: {error}", address_dead=True)
    except smtplib.SMTPResponseException as error:
        if 400 <= error.smtp_code < 500:
            return Transient(f"SMTP {error.smtp_code}: {error.smtp_error!r}")
        return Permanent(f"SMTP {error.smtp_code}: {error.smtp_error!r}")
    except (OSError, smtplib.SMTPException) as error:
        return Transient(f"{type(error).__name__}: {error}")
    status = getattr(message, "anymail_status", None)
    provider_id = (status.message_id if status is not None else None) or message.extra_headers["Message-ID"]
    return Sent(str(provider_id))


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date; the backoff applies
