"""Web push (RFC 8030) to each browser a user turned it on in, through `pywebpush`, signed with our VAPID key.

An address is one browser's `PushSubscription`: its endpoint at the browser's push service (Google's
FCM for Chrome, Mozilla's autopush for Firefox, Apple's for Safari) and the keys the payload is
encrypted to (RFC 8291, aes128gcm). pywebpush's `WebPusher` encrypts and posts, over one HTTP
session per thread; the VAPID token (RFC 8292) is signed here, once per push service for hours.
The push service keeps a message for an offline browser for `TTL` seconds, delivers
`Urgency: high` ones even to a phone saving battery, and replaces an unread message with a newer
one of the same `Topic`. Our service worker (static/sw.js) shows it.
"""

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.templatetags.static import static
from django.utils import timezone
from django.utils.text import slugify
from py_vapid import Vapid
from pywebpush import WebPusher, WebPushException

from .base import Channel, Message, Permanent, Result, Sent, Transient

if TYPE_CHECKING:
    from accounts.models import User

    from ..models import Address, NotificationPreferences

# RFC 8291: one aes128gcm record of at most 4,096 bytes carries the payload; its header (86 bytes),
# the padding delimiter (1) and the AEAD tag (16) leave 3,993 bytes of plaintext.
MAX_PAYLOAD_BYTES = 3993
# RFC 8030, section 5.4: a Topic is at most 32 characters of the URL-safe base64 alphabet.
MAX_TOPIC_CHARS = 32
_TOPIC_CHARS = re.compile(r"[A-Za-z0-9_-]{1,32}")
ELLIPSIS = "…"

# What push services answer (RFC 8030; FCM, autopush and Apple follow it): 404/410 the subscription
# expired or was unsubscribed; 403 it was made for another VAPID key; 413 the payload is too big.
GONE_STATUSES = frozenset({403, 404, 410})
TOO_LARGE_STATUS = 413

_local = threading.local()


def configured() -> bool:
    """Whether this site has a VAPID key pair: without one no browser can subscribe."""
    return bool(settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY)


def new_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair as (public, private), each base64url without padding, as the settings take them."""
    private = ec.generate_private_key(ec.SECP256R1())
    public_raw = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    private_raw = private.private_numbers().private_value.to_bytes(32, "big")
    return _b64url(public_raw), _b64url(private_raw)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@cache
def _vapid(private_key: str) -> Vapid:
    """Our signing key, parsed once per process (pywebpush would parse a string on every send)."""
    return Vapid.from_string(private_key=private_key)


@cache
def _icon_url(site_url: str) -> str:
    return site_url.rstrip("/") + static("favicon.svg")


def topic_for(subject: str) -> str:
    """`subject` as a Topic header: kept when it already fits RFC 8030's rules, else a 32-character digest."""
    if not subject or _TOPIC_CHARS.fullmatch(subject):
        return subject
    return _b64url(hashlib.sha256(subject.encode()).digest())[:MAX_TOPIC_CHARS]


def payload(message: Message, icon: str) -> bytes:
    """The JSON our service worker shows, at most MAX_PAYLOAD_BYTES: the body is trimmed first, then the title."""
    listing_id = message.metadata.get("listing_id", "")
    fields: dict[str, Any] = {
        # No more characters than bytes can fit: a seller's essay is not JSON-encoded whole to be cut.
        "title": (message.short or message.title or message.subject)[:MAX_PAYLOAD_BYTES],  # a headline for news
        "body": _body(message)[:MAX_PAYLOAD_BYTES],
        "icon": icon,
        "image": message.image,
        "url": message.link,
        "listing_id": int(listing_id) if listing_id.isdigit() else None,
        "tag": message.topic,  # the same news again replaces its unread notification; other news does not
        # Buttons beside "View deal" (static/sw.js): ("Watch", url) → {"action": "watch", "title", "url"}.
        "actions": [{"action": slugify(label), "title": label, "url": url} for label, url in message.actions],
    }
    encoded = _encode(fields)
    for name in ("body", "title", "image"):
        if len(encoded) <= MAX_PAYLOAD_BYTES:
            break
        fields[name] = _trimmed(fields, name)
        encoded = _encode(fields)
    return encoded


def _body(message: Message) -> str:
    """A deal's facts after its title (score, condition, place, why), then what the seller wrote."""
    if message.kind != "deal":
        return message.text
    # The price is in the title; a condition or a place says what it is by itself.
    facts = " · ".join(
        value if label in ("Condition", "Where") else f"{label}: {value}"
        for label, value in message.facts
        if label != "Price"
    )
    return "\n".join(part for part in (facts, " ".join(message.description.split())) if part)


def _encode(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def _trimmed(fields: dict[str, Any], name: str) -> str:
    """The longest start of `fields[name]` (ending in an ellipsis) with which the payload fits; "" if none."""
    text: str = fields[name]
    if name == "image":
        return ""  # a URL cut short is no image at all
    low, high = 0, len(text)
    while low < high:  # binary search on characters: JSON escapes make bytes per character uneven
        middle = (low + high + 1) // 2
        if len(_encode({**fields, name: text[:middle].rstrip() + ELLIPSIS})) <= MAX_PAYLOAD_BYTES:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS if low else ""


class PushChannel(Channel):
    name = "push"
    label = "Push"
    in_words = "push"
    setup_hint = "turn on push in this browser first: Settings, Push, Enable on this device"
    unverified_words = "not confirmed by your browser yet"
    disabled_words = "off because your browsers stopped accepting our pushes: enable push again"

    def configured(self) -> bool:
        return configured()

    def unreachable_because(self, user: "User", prefs: "NotificationPreferences", addresses: list["Address"]) -> str:
        if not configured():
            return "not available on this site yet"
        return super().unreachable_because(user, prefs, addresses)

    @contextmanager
    def session(self) -> Iterator[None]:
        """One HTTP session per thread, kept across batches (push services are few, their connections reused);
        the browsers a batch reached are stamped `last_sent_at` at its end, in one UPDATE."""
        if getattr(_local, "session", None) is None:
            http = requests.Session()
            http.trust_env = False  # no proxy or netrc lookups per request: push services are called directly
            # A push service answers; it never redirects. Following one would let a hostile endpoint
            # bounce our POST onto an internal address (and show us its answer): a 3xx is an error.
            http.max_redirects = 0
            _local.session = http
        outer = getattr(_local, "reached", None) is None
        if outer:
            _local.reached = []
        try:
            yield
        finally:
            if outer:
                reached, _local.reached = _local.reached, None
                if reached:
                    from ..models import Address  # models import the channel list

                    Address.objects.filter(pk__in=reached).update(last_sent_at=timezone.now())

    def send(self, address: "Address", message: Message, key: str) -> Result:
        subscription = json.loads(address.value)
        endpoint = urlsplit(subscription.get("endpoint", ""))
        headers = {
            **vapid_headers(f"{endpoint.scheme}://{endpoint.netloc}", time.time()),
            "Urgency": "high" if message.urgent else "normal",
        }
        if topic := topic_for(message.topic):
            headers["Topic"] = topic
        try:
            pusher = WebPusher(subscription, requests_session=getattr(_local, "session", None))
            response = pusher.send(
                payload(message, _icon_url(settings.SITE_URL)),
                headers,
                ttl=settings.PUSH_TTL_S,
                timeout=settings.PUSH_TIMEOUT_S,
            )
        except WebPushException as error:  # the stored subscription lacks what pywebpush needs
            return Permanent(f"push refused: {error.message}"[:500], address_dead=True)
        except requests.TooManyRedirects:  # see `session`: an endpoint that redirects is no push service
            return Permanent("push endpoint redirected elsewhere: not a push service", address_dead=True)
        except requests.RequestException as error:  # refused, reset, timed out: the service may not have it
            return Transient(f"push service unreachable: {type(error).__name__}: {error}"[:500])
        result = classify(response)
        reached = getattr(_local, "reached", None)
        if isinstance(result, Sent) and address.pk is not None and reached is not None:
            reached.append(address.pk)
        return result


# Signed VAPID headers by (key, subject, audience): a JWT is good until its `exp` (12 h ahead), so one
# is signed per push service per few hours rather than once per push.
_signed: dict[tuple[str, str, str], tuple[float, dict[str, str]]] = {}
VAPID_TOKEN_LIFETIME_S = 12 * 3600
VAPID_TOKEN_RENEW_S = 3600  # a token with less left than this is not used: clocks drift, sends queue


def vapid_headers(audience: str, now: float) -> dict[str, str]:
    """`Authorization: vapid t=<JWT>, k=<our public key>` for a push service at `audience` (its origin)."""
    cache_key = (settings.VAPID_PRIVATE_KEY, settings.VAPID_SUBJECT, audience)
    cached = _signed.get(cache_key)
    if cached is not None and cached[0] - now > VAPID_TOKEN_RENEW_S:
        return cached[1]
    exp = int(now) + VAPID_TOKEN_LIFETIME_S
    # A fresh dict each time: py_vapid and pywebpush write into the claims they are given.
    claims = {"sub": settings.VAPID_SUBJECT, "aud": audience, "exp": exp}
    signed = _vapid(settings.VAPID_PRIVATE_KEY).sign(claims)
    _signed[cache_key] = (exp, signed)
    return signed


def demo_subscription(service_url: str) -> dict[str, Any]:
    """A subscription made on make run's local push service (`python -m peers webpush`), bound to our key."""
    response = requests.post(
        f"{service_url.rstrip('/')}/_subscribe",
        json={"application_server_key": settings.VAPID_PUBLIC_KEY},
        timeout=settings.PUSH_TIMEOUT_S,
    )
    response.raise_for_status()
    return response.json()


def classify(response: requests.Response) -> Result:
    """A push service's answer as a result: 201 sent; gone, too large, rate-limited or down."""
    status = response.status_code
    if status in (200, 201, 202):
        return Sent(provider_id=response.headers.get("Location", "")[:200])
    reason = (response.text or response.reason or "").strip().replace("\n", " ")[:200]
    text = f"push service {status}: {reason}" if reason else f"push service {status}"
    if status in GONE_STATUSES or 300 <= status < 400:  # a redirecting endpoint is no push service
        return Permanent(text, address_dead=True)
    if status == TOO_LARGE_STATUS:
        return Permanent(text)
    if status == 429 or status >= 500:
        return Transient(text, retry_after=_retry_after(response.headers.get("Retry-After")))
    return Permanent(text)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date; the policy's backoff applies
