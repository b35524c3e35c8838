"""A web push service (RFC 8030) as browsers' push services answer an application server, with VAPID
(RFC 8292) checked and each payload decrypted (RFC 8291, aes128gcm) with the subscriber's own keys.

`subscribe()` (or `POST /_subscribe` from another process) plays the browser: it makes a P-256 key
pair and an auth secret for one subscriber, keeps the private half, and returns the
`PushSubscription` JSON a browser would hand to the site, its endpoint on this peer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .recording import Recorded, RecordingHTTPServer, Reply

FailureKind = Literal["not_found", "gone", "forbidden", "too_large", "rate_limited", "server_error"]
FAILURE_STATUS: dict[str, int] = {
    "not_found": 404,
    "gone": 410,
    "forbidden": 403,
    "too_large": 413,
    "rate_limited": 429,
    "server_error": 500,
}
PUSH_ROUTE_PREFIX = "/push/"
MAX_RECORD_BYTES = 4096  # RFC 8291: the one record a push message may be
MAX_TOKEN_LIFETIME_S = 24 * 3600  # RFC 8292, section 2: exp no more than 24 hours ahead
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class Subscriber:
    """One browser's half of a subscription: what only the browser knows."""

    token: str  # the endpoint's last segment
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str  # the VAPID public key it was made for ("" accepts any)


@dataclass(frozen=True)
class Pushed:
    """One push message as this service accepted it, decrypted."""

    token: str
    ttl: int
    urgency: str  # "normal" when the sender gave none (RFC 8030, section 5.3)
    topic: str
    payload: Any  # the plaintext, parsed as JSON
    plaintext_bytes: int
    vapid_claims: dict[str, Any]


class VapidError(ValueError):
    pass


def verify_vapid(authorization: str, audience: str, now: float) -> tuple[str, dict[str, Any]]:
    """The public key and claims of a valid `vapid t=<JWT>, k=<key>` header; VapidError says what is wrong."""
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise VapidError("Authorization is not vapid t=…, k=…")
    parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    token, key = parts.get("t", ""), parts.get("k", "")
    if token.count(".") != 2 or not key:
        raise VapidError("vapid needs t (a JWT) and k (the public key)")
    header_b64, claims_b64, signature_b64 = token.split(".")
    try:
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(claims_b64))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
        signature = b64url_decode(signature_b64)
    except ValueError as error:
        raise VapidError(f"malformed token or key: {error}") from error
    if header.get("alg") != "ES256" or len(signature) != 64:
        raise VapidError("the JWT must be ES256 with a 64-byte signature")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as error:
        raise VapidError("the JWT's signature does not verify with k") from error
    if claims.get("aud") != audience:
        raise VapidError(f"aud {claims.get('aud')!r} is not this push service's origin {audience!r}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= now or exp > now + MAX_TOKEN_LIFETIME_S:
        raise VapidError(f"exp {exp!r} is not within the next 24 hours")
    sub = claims.get("sub", "")
    if not (isinstance(sub, str) and (re.fullmatch(r"mailto:[^@\s]+@[^@\s]+", sub) or sub.startswith("https://"))):
        raise VapidError(f"sub {sub!r} is not a mailto: or https: contact")
    return key, claims


class WebPushPeer(RecordingHTTPServer):
    """A push service on 127.0.0.1.

    `POST /push/{token}` (the endpoint of a subscription made here) with `Authorization: vapid t=…,
    k=…`, a `TTL`, optionally `Urgency` and `Topic`, `Content-Encoding: aes128gcm` and the encrypted
    body. Answers, as FCM and autopush do: 201 with a `Location` (accepted); 400 for a missing or bad
    TTL, Urgency, Topic or encoding, or a body that does not decrypt; 401 for a missing or invalid
    VAPID token; 403 when k is not the key the subscription was made for; 404 for an endpoint it
    never issued; 413 for a body over 4,096 bytes. `fail_next` scripts 404, 410, 403, 413, 429 (with
    Retry-After) and 500.

    Not the push protocol: `POST /_subscribe` (optional JSON `{"application_server_key"}`) returns a
    new subscription; `GET /_stats` answers `{"accepted": N, "rate_limited": N, "by_key": {key: n}}`, the
    key "<the payload's listing_id (or url)> <the subscription's token>".
    """

    def __init__(
        self, *, port: int = 0, delay: float = 0.0, record: bool = True, echo: bool = False, seed: bytes = b""
    ) -> None:
        super().__init__(port=port, delay=delay, record=record)
        self.seed = seed or secrets.token_bytes(32)  # subscribers' keys derive from it and their token
        self.echo = echo  # print each accepted push, decrypted, on stdout (`python -m peers webpush --echo`)
        self._subscribers: dict[str, Subscriber] = {}
        self._pushed: list[Pushed] = []
        self._failures: deque[tuple[FailureKind, int]] = deque()
        self._refusals: list[str] = []
        self._verdicts: dict[int, Pushed | tuple[int, str]] = {}
        self._verified: dict[str, tuple[str, dict[str, Any]]] = {}
        self._accepted = 0
        self._rate_limited = 0  # 429s answered: a sender that honours Retry-After sees few
        self._by_key: Counter[str] = Counter()

    # --- the browser's side --------------------------------------------------------------------

    def subscribe(self, application_server_key: str = "") -> dict[str, Any]:
        """A new subscription, as `PushSubscription.toJSON()` gives it: {endpoint, expirationTime, keys}."""
        random_part = secrets.token_urlsafe(18)
        token = f"{random_part}.{self._mac(b'token', random_part)[:16]}"
        subscriber = self._subscriber(token, application_server_key)
        assert subscriber is not None
        with self._state:
            self._subscribers[token] = subscriber
        public = subscriber.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.url}{PUSH_ROUTE_PREFIX}{token}",
            "expirationTime": None,
            "keys": {"p256dh": b64url(public), "auth": b64url(subscriber.auth_secret)},
        }

    def _mac(self, purpose: bytes, text: str) -> str:
        return b64url(hmac.new(self.seed, purpose + text.encode(), hashlib.sha256).digest())

    def _subscriber(self, token: str, application_server_key: str = "") -> Subscriber | None:
        """The browser's half of a subscription this service issued: its keys follow from the token and
        the seed, so a peer started again with the same seed still decrypts (make run's demo devices)."""
        if token in self._subscribers:
            return self._subscribers[token]
        random_part, _, mac = token.partition(".")
        if not random_part or not hmac.compare_digest(mac, self._mac(b"token", random_part)[:16]):
            return None
        scalar = int.from_bytes(hmac.new(self.seed, b"key" + token.encode(), hashlib.sha256).digest(), "big")
        private_key = ec.derive_private_key(scalar % (P256_ORDER - 1) + 1, ec.SECP256R1())
        auth_secret = hmac.new(self.seed, b"auth" + token.encode(), hashlib.sha256).digest()[:16]
        return Subscriber(token, private_key, auth_secret, application_server_key)

    @staticmethod
    def token_of(subscription: dict[str, Any] | str) -> str:
        endpoint = subscription if isinstance(subscription, str) else subscription["endpoint"]
        return urlsplit(endpoint).path.removeprefix(PUSH_ROUTE_PREFIX)

    # --- what arrived ---------------------------------------------------------------------------

    @property
    def pushed(self) -> list[Pushed]:
        with self._state:
            return list(self._pushed)

    @property
    def refusals(self) -> list[str]:
        """Why each refused push was refused (400/401/403/404/413 answers the peer chose, not scripted ones)."""
        with self._state:
            return list(self._refusals)

    def wait_for_pushes(self, count: int, timeout: float = 10) -> list[Pushed]:
        with self._state:
            self._wait(lambda: len(self._pushed) >= count, timeout, f"{count} accepted push(es)")
            return list(self._pushed)

    def fail_next(self, kind: FailureKind, count: int = 1, *, retry_after: int = 1) -> None:
        """Answer the next `count` pushes with `kind`'s status (429 and 500 carry `Retry-After`)."""
        if kind not in FAILURE_STATUS:
            raise ValueError(f"unknown failure kind {kind!r}")
        with self._state:
            self._failures.extend([(kind, retry_after)] * count)

    def stats(self) -> dict[str, Any]:
        with self._state:
            return {"accepted": self._accepted, "rate_limited": self._rate_limited, "by_key": dict(self._by_key)}

    def clear(self) -> None:
        with self._state:
            super().clear()
            self._pushed.clear()
            self._failures.clear()
            self._refusals.clear()
            self._accepted = 0
            self._rate_limited = 0
            self._by_key.clear()

    # --- the protocol ---------------------------------------------------------------------------

    def handle_recorded(self, recorded: Recorded) -> Reply:
        # The checks and the decryption run before the state lock is taken, so pushes on several
        # connections are checked in parallel; the verdict is read back in `default_reply`.
        if recorded.route.startswith(PUSH_ROUTE_PREFIX) and recorded.method == "POST":
            self._verdicts[id(recorded)] = self._check(recorded)
        try:
            return super().handle_recorded(recorded)
        finally:
            self._verdicts.pop(id(recorded), None)

    def default_reply(self, recorded: Recorded) -> Reply:
        route = recorded.route
        if route == "/_stats" and recorded.method == "GET":
            return Reply(200, self.stats())
        if route == "/_subscribe" and recorded.method == "POST":
            key = (recorded.json or {}).get("application_server_key", "") if isinstance(recorded.json, dict) else ""
            return Reply(201, self.subscribe(key))
        verdict = self._verdicts.get(id(recorded))
        if verdict is None:
            return Reply(404, {"error": f"no such endpoint: {recorded.method} {route}"})
        if isinstance(verdict, tuple):
            return self._refuse(*verdict)
        if self._failures:
            kind, retry_after = self._failures.popleft()
            status = FAILURE_STATUS[kind]
            headers = {"Retry-After": str(retry_after)} if status in (429, 500) else {}
            self._rate_limited += status == 429
            return Reply(status, {"code": status, "errno": status, "error": kind}, headers)
        return self._accept(verdict)

    def _check(self, recorded: Recorded) -> Pushed | tuple[int, str]:
        """The push, decrypted, or the status and reason it is refused with."""
        subscriber = self._subscriber(recorded.route.removeprefix(PUSH_ROUTE_PREFIX))
        if subscriber is None:
            return 404, "no such subscription"
        authorization = recorded.headers.get("Authorization", "")
        try:
            key, claims = self._verified.get(authorization) or verify_vapid(authorization, self.url, time.time())
        except VapidError as error:
            return 401, str(error)
        if claims["exp"] <= time.time():
            return 401, "the VAPID token expired"
        # A token that verified once is good until its exp, as push services cache it too.
        self._verified[authorization] = (key, claims)
        if subscriber.application_server_key and key != subscriber.application_server_key:
            return 403, "k is not the application server key this subscription was made for"
        ttl = recorded.headers.get("TTL", "")
        if not ttl.isdigit():
            return 400, f"TTL must be a number of seconds, not {ttl!r}"
        urgency = recorded.headers.get("Urgency", "normal")
        if urgency not in URGENCIES:
            return 400, f"Urgency {urgency!r} is not one of {sorted(URGENCIES)}"
        topic = recorded.headers.get("Topic", "")
        if topic and not TOPIC.fullmatch(topic):
            return 400, f"Topic {topic!r} is not 1-32 characters of the URL-safe base64 alphabet"
        if recorded.headers.get("Content-Encoding", "").lower() != "aes128gcm":
            return 400, "Content-Encoding must be aes128gcm"
        if len(recorded.body) > MAX_RECORD_BYTES:
            return 413, f"payload of {len(recorded.body)} bytes is over {MAX_RECORD_BYTES}"
        try:
            plaintext = http_ece.decrypt(
                recorded.body,
                private_key=subscriber.private_key,
                auth_secret=subscriber.auth_secret,
                version="aes128gcm",
            )
            payload = json.loads(plaintext)
        except Exception as error:  # http_ece raises its own and cryptography's errors
            return 400, f"the body does not decrypt to JSON: {type(error).__name__}: {error}"
        return Pushed(subscriber.token, int(ttl), urgency, topic, payload, len(plaintext), claims)

    def _refuse(self, status: int, why: str) -> Reply:
        with self._state:
            self._refusals.append(f"{status} {why}")
        return Reply(status, {"code": status, "error": why})

    def _accept(self, pushed: Pushed) -> Reply:
        payload = pushed.payload if isinstance(pushed.payload, dict) else {}
        what = payload.get("listing_id") or payload.get("url") or ""
        with self._state:
            self._accepted += 1
            self._by_key[f"{what} {pushed.token}"] += 1
            if self.record:
                self._pushed.append(pushed)
            message_id = secrets.token_urlsafe(12)
            if self.echo:
                print(json.dumps({"subscription": pushed.token, "urgency": pushed.urgency, **payload}), flush=True)
        return Reply(201, b"", {"Location": f"{self.url}/message/{message_id}"})
