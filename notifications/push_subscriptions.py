"""Browsers' push subscriptions: checked, stored as push addresses (one per browser), listed and removed.

A subscription is the browser's `PushSubscription` JSON: an endpoint at its push service and the keys
a payload is encrypted to. It is kept whole (encrypted) in `Address.value`, found again by a keyed
digest of its endpoint, so the same browser subscribing twice updates its row instead of adding one.
"""

import base64
import binascii
import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from dealalerts.encryption import digest

from .models import Address, NotificationPreferences

CHANNEL = "push"
MAX_ENDPOINT_CHARS = 2000
# Names no public push service has: a subscription pointing there would make us post to our own network.
PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan", ".intranet", ".corp")


class InvalidSubscription(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str  # base64url, no padding
    auth: str

    def as_json(self) -> str:
        return json.dumps({"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}})


def parse(data: Any, *, public_only: bool | None = None) -> Subscription:
    """The subscription in `data` (a browser's `PushSubscription.toJSON()`); InvalidSubscription names the field.

    `public_only`: whether the endpoint must be https on a public host (default: the setting).
    """
    if not isinstance(data, dict):
        raise InvalidSubscription("non_field_errors", "Send the browser's PushSubscription as a JSON object.")
    if public_only is None:
        public_only = settings.PUSH_ENDPOINTS_PUBLIC_ONLY
    endpoint = _endpoint(data.get("endpoint"), public_only)
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise InvalidSubscription("keys", "keys must be an object with p256dh and auth.")
    p256dh = _key(keys.get("p256dh"), "keys.p256dh", 65, "a 65-byte uncompressed P-256 public key")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        raise InvalidSubscription("keys.p256dh", "keys.p256dh is not a point on the P-256 curve.") from None
    auth = _key(keys.get("auth"), "keys.auth", 16, "a 16-byte authentication secret")
    return Subscription(endpoint, _b64url(p256dh), _b64url(auth))


def _endpoint(value: Any, public_only: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidSubscription("endpoint", "endpoint is required: the push service URL the browser gave.")
    if len(value) > MAX_ENDPOINT_CHARS:
        raise InvalidSubscription("endpoint", f"endpoint must be at most {MAX_ENDPOINT_CHARS} characters.")
    try:
        url = urlsplit(value)
        host, port = (url.hostname or "").rstrip("."), url.port  # "localhost." is localhost
    except ValueError:
        raise InvalidSubscription("endpoint", "endpoint is not a URL.") from None
    if not public_only:
        if url.scheme not in ("http", "https") or not host:
            raise InvalidSubscription("endpoint", "endpoint must be an http or https URL.")
        return value
    if url.scheme != "https" or not host:
        raise InvalidSubscription("endpoint", "endpoint must be an https URL of a push service.")
    if url.username is not None or url.password is not None or port not in (None, 443):
        raise InvalidSubscription("endpoint", "endpoint must not carry a user name, password or port.")
    if _is_ip_literal(host) or "." not in host or host == "localhost" or host.endswith(PRIVATE_SUFFIXES):
        raise InvalidSubscription(
            "endpoint", "endpoint must be on a public push service host, not an IP address or a local name."
        )
    if not all(address.is_global for address in resolve(host)):  # a public-looking name for a private address
        raise InvalidSubscription("endpoint", "endpoint must be on a public push service host.")
    return value


def resolve(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses `host` resolves to now; none (so refused) when it does not resolve."""
    try:
        found = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return [ipaddress.ip_address("0.0.0.0")]  # unresolvable: not a push service we can reach
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in found]


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        # 127.1, 2130706433, 0x7f.0.0.1 and the other shorthand forms resolvers accept
        return all(re.fullmatch(r"0x[0-9a-f]*|[0-9]+", label) for label in host.lower().split("."))
    return True


def _key(value: Any, field: str, size: int, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise InvalidSubscription(field, f"{field} is required: {what}, base64url-encoded.")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise InvalidSubscription(field, f"{field} must be base64url-encoded.") from None
    if len(raw) != size or (size == 65 and raw[0] != 4):
        raise InvalidSubscription(field, f"{field} must be {what}, base64url-encoded.")
    return raw


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_name(user_agent: str) -> str:
    """ "Chrome on Android", "Firefox on Windows", …: enough for a person to tell their devices apart."""
    ua = user_agent or ""
    browsers = (
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    )
    systems = (
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    )
    browser = next((name for marker, name in browsers if marker in ua), "A browser")
    system = next((name for marker, name in systems if marker in ua), "")
    return f"{browser} on {system}" if system else browser


@transaction.atomic
def subscribe(
    user: User, subscription: Subscription, user_agent: str, now: datetime | None = None, *, turn_on: bool = True
) -> Address:
    """Store the subscription as one of the user's push addresses, usable at once; the same endpoint updates its row.

    `turn_on`: the person asked for push on this device, so push joins their channels (a browser
    renewing its subscription by itself leaves their choice alone). An endpoint is one browser
    profile: when another account subscribed it before, that account stops getting pushes there
    (they would show to whoever uses the browser now).
    """
    now = now or timezone.now()
    key = digest(subscription.endpoint)
    Address.objects.filter(channel=CHANNEL, key=key).exclude(user=user).delete()
    address, _ = Address.objects.update_or_create(
        user=user,
        channel=CHANNEL,
        key=key,
        defaults={
            "value": subscription.as_json(),
            "label": browser_name(user_agent)[:100],
            "verified_at": now,
            "disabled_at": None,
            "disabled_reason": "",
        },
    )
    if turn_on:
        prefs = NotificationPreferences.objects.select_for_update().get_or_create(user=user)[0]
        if CHANNEL not in prefs.channels:
            prefs.channels = [*prefs.channels, CHANNEL]
            prefs.save(update_fields=["channels", "updated_at"])
    return address


def renew(old_endpoint: str, subscription: Subscription, user_agent: str) -> Address | None:
    """A browser's push service replaced its subscription (`pushsubscriptionchange`): the new one takes the
    old one's place. Only the browser and we know the old endpoint, so knowing it is the proof."""
    if not isinstance(old_endpoint, str) or not old_endpoint:
        raise InvalidSubscription("old_endpoint", "old_endpoint is required: the subscription being replaced.")
    old = Address.objects.filter(channel=CHANNEL, key=digest(old_endpoint)).select_related("user").first()
    if old is None:
        return None
    with transaction.atomic():
        if old.key != digest(subscription.endpoint):
            old.delete()
        return subscribe(old.user, subscription, user_agent, turn_on=False)


def add_demo_device(user: User, user_agent: str) -> Address:
    """A device on make run's local push service, for a demo without the browser's own push service."""
    from .channels.push import demo_subscription

    # The local service is on 127.0.0.1 by design, and its URL is ours, not a user's.
    subscription = parse(demo_subscription(settings.PUSH_DEMO_SERVICE_URL), public_only=False)
    address = subscribe(user, subscription, user_agent)
    address.label = f"{address.label} (local push service)"[:100]
    address.save(update_fields=["label"])
    return address


def devices(user: User) -> list[Address]:
    """The user's subscribed browsers, newest first."""
    return list(Address.objects.filter(user=user, channel=CHANNEL).order_by("-created_at", "-id"))


def remove(user: User, address_id: int) -> bool:
    """Forget one of the user's browsers; False when it is not theirs (or not there)."""
    deleted, _ = Address.objects.filter(user=user, channel=CHANNEL, pk=address_id).delete()
    return bool(deleted)
