"""Email, through whatever Django email backend is configured (an ESP via django-anymail, SMTP, console)."""

import smtplib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import requests
from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from requests.utils import get_netrc_auth

from dealalerts.encryption import digests

from .base import Channel, Message, Permanent, Result, Sent, Transient, retry_after_seconds

if TYPE_CHECKING:
    from accounts.models import User

    from ..models import Address, NotificationPreferences

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

    unverified_words = "not confirmed yet"
    disabled_words = "off because mail to your address bounced or was marked as spam"

    def addresses(self, user: "User", stored: list["Address"]) -> list["Address"]:
        """The user's sign-in address, confirmed when they followed the link, with the state of its row if any."""
        from ..models import Address  # models import the channel list

        if not user.email:
            return []
        keys = digests(user.email.strip().lower())
        address = next((a for a in stored if a.key in keys), None) or Address(user=user, channel=self.name, key=keys[0])
        address.value, address.label = user.email, user.email
        address.verified_at = user.email_confirmed_at
        return [address]

    def blocked_because(self, user: "User", prefs: "NotificationPreferences", addresses: list["Address"]) -> str:
        why = self.unreachable_because(user, prefs, addresses)
        if why == self.disabled_words:
            return "email to this address bounced or was reported as spam"
        if why == self.unverified_words:
            return "your email address changed and is not confirmed yet: use the link we sent"
        return why

    def send(self, address: "Address", message: Message, key: str) -> Result:
        return send_message(email_message(message, address.value, key, getattr(self._local, "connection", None)))

    def can_find_sent(self) -> bool:
        return settings.EMAIL_BACKEND == POSTMARK_BACKEND

    def find_sent(self, key: str) -> str | None:
        """Postmark can search sent messages by metadata; other backends cannot be asked."""
        if not self.can_find_sent():
            return None
        anymail = settings.ANYMAIL
        base = anymail.get("POSTMARK_API_URL", "https://api.postmarkapp.com/")
        response = requests.get(
            base.rstrip("/") + "/messages/outbound",
            params={"count": 1, "offset": 0, "metadata_dedup_key": key},
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


def email_message(message: Message, to: str, key: str, connection=None) -> EmailMultiAlternatives:
    """An email with one-click unsubscribe and a Message-ID fixed by `key`.

    The fixed Message-ID means a re-send after a crash is recognised as the same message by the
    receiving mail system.
    """
    domain = settings.SITE_URL.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "dealalerts.local"
    headers = {"Message-ID": f"<{key}@{domain}>"}
    if message.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.text, to=[to], connection=connection, headers=headers
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    email.metadata = dict(message.metadata)  # anymail passes this to the ESP; it comes back in tracking webhooks
    email.tags = [message.kind]
    return email


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
    return retry_after_seconds(response.headers.get("Retry-After") if response is not None else None)
