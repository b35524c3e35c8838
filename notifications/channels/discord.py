"""Discord: a deal as one rich embed, executed on the webhook the user pasted.

The webhook URL is the user's (Discord needs no credentials of ours), so there is no console twin.
Two guards against server-side request forgery: `parse_webhook_url` accepts only Discord's own
webhook URLs, and a send never goes to the host the user gave: the webhook's id and token are put
on `DISCORD_API_URL` (Discord's versioned API; the unversioned one answers 429 with `retry_after`
in milliseconds), and redirects are never followed.

Rate limits (https://discord.com/developers/docs/topics/rate-limits): each webhook is its own
bucket. Every answer says how many requests are left in it (`X-RateLimit-Remaining`) and when it
refills (`X-RateLimit-Reset-After`, seconds); a worker process keeps that per webhook and waits,
before sending, until the bucket has room, so it never asks for a 429. When a 429 comes anyway
(another process, another app on the same webhook, Discord's global limit), its JSON `retry_after`
(seconds in v10) is waited out here and the send tried again, when the wait is short
(`MAX_INLINE_WAIT_S`): webhook buckets refill within seconds, and a retry through the delivery
policy would wait its backoff of minutes instead. A longer wait returns `Transient(retry_after=…)`
to the policy, so a worker is never held for long.
"""

import math
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError

from .base import Channel, Message, Permanent, Result, Sent, Transient

if TYPE_CHECKING:
    from ..models import Address

SEND_TIMEOUT_S: float = 10  # seconds for Discord to answer one webhook call
MAX_INLINE_WAIT_S: float = 10  # a rate-limit wait longer than this goes back to the delivery policy
MAX_TRIES = 3  # one send and at most two retries after a 429, within one call

# Discord's embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits),
# counted, as Discord counts them, in UTF-16 code units.
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000  # title, description, field names and values, footer text and author name together
URL_LIMIT = 2048
ELLIPSIS = "…"

# Colours by deal score: green for a great deal, amber for a good one, Discord's blurple otherwise.
GREAT_DEAL, GOOD_DEAL, ANY_DEAL = 0x2ECC71, 0xF1C40F, 0x5865F2
GREAT_SCORE, GOOD_SCORE = 0.85, 0.6

WEBHOOK_HOSTS = frozenset({"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"})
# The whole URL, strictly: https, one of Discord's hosts (no port, no userinfo), the webhook path
# (unversioned as Discord shows it, or versioned), an id (a snowflake) and a token; no query, no
# fragment. Anything a URL parser might read differently (`\`, `%2F`, `@`) fails the match.
WEBHOOK_URL = re.compile(
    r"https://(?P<host>[a-z.]+)/api/(?:v[0-9]{1,2}/)?webhooks/(?P<id>[0-9]{15,21})/(?P<token>[A-Za-z0-9_-]{1,100})/?",
    re.ASCII | re.IGNORECASE,
)
UNKNOWN_WEBHOOK = 10015
INVALID_WEBHOOK_TOKEN = 50027

_local = threading.local()


# --- the webhook URL ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    id: str
    token: str

    @property
    def url(self) -> str:
        """The canonical form stored for the user: Discord's own host, unversioned, as Discord shows it."""
        return f"https://discord.com/api/webhooks/{self.id}/{self.token}"

    @property
    def masked(self) -> str:
        """The id in full (the user can find it in Discord), the token hidden."""
        return f"discord.com/api/webhooks/{self.id}/••••••"

    def execute_url(self) -> str:
        """Where a message is sent: the id and token on the configured API, never on a host the user gave."""
        return f"{settings.DISCORD_API_URL.rstrip('/')}/webhooks/{self.id}/{self.token}"


def parse_webhook_url(raw: str) -> Webhook:
    """The webhook a pasted URL names; `ValidationError` naming `webhook_url` for anything but Discord's own."""
    text = raw.strip() if isinstance(raw, str) else ""
    match = WEBHOOK_URL.fullmatch(text)
    if not match or match["host"].lower() not in WEBHOOK_HOSTS:
        raise ValidationError(
            {
                "webhook_url": [
                    "Paste the webhook URL Discord shows (Server Settings → Integrations → Webhooks → Copy Webhook "
                    "URL): https://discord.com/api/webhooks/<id>/<token>."
                ]
            }
        )
    return Webhook(match["id"], match["token"])


# --- the embed: a pure function of the message -------------------------------------------------


def utf16_length(text: str) -> int:
    """Length as Discord counts it: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def trim(text: str, limit: int) -> str:
    """`text` within `limit` UTF-16 units, ending in an ellipsis when cut; never splits a surrogate pair."""
    text = text.strip()
    if utf16_length(text) <= limit:
        return text
    if limit < 1:
        return ""
    kept, used = [], 0
    for char in text:
        cost = 2 if ord(char) > 0xFFFF else 1
        if used + cost > limit - 1:
            break
        kept.append(char)
        used += cost
    return "".join(kept).rstrip() + ELLIPSIS


def embed_length(embed: dict[str, Any]) -> int:
    """The embed's characters that count toward Discord's 6000, in UTF-16 units."""
    parts = [embed.get("title", ""), embed.get("description", "")]
    parts += [f.get(key, "") for f in embed.get("fields", []) for key in ("name", "value")]
    parts += [embed.get("footer", {}).get("text", ""), embed.get("author", {}).get("name", "")]
    return sum(utf16_length(p) for p in parts)


def colour(score: float | None) -> int:
    if score is None:
        return ANY_DEAL
    return GREAT_DEAL if score >= GREAT_SCORE else GOOD_DEAL if score >= GOOD_SCORE else ANY_DEAL


def _web_url(url: str) -> str:
    """A URL Discord accepts in an embed (http or https, not too long), else ""."""
    return url if url.startswith(("https://", "http://")) and len(url) <= URL_LIMIT else ""


def embed(message: Message) -> dict[str, Any]:
    """The message as one Discord embed, trimmed to every limit (never rejected by them).

    Each part is cut to its own limit; if the whole is still over 6000, the description gives way
    first, then the last fields, then the footer: the title, the price and the link stay.
    """
    # News about a watched listing leads with it ("ThinkPad T14 dropped to $310 …"); a deal with its title.
    title = trim(message.headline or message.title or message.short, TITLE_LIMIT)
    body = message.description if message.kind == "deal" else (message.description or message.text)
    # A webhook we do not own cannot carry buttons: the actions are one field of Markdown links, kept last.
    actions = action_field(message.actions)
    fields = [
        {"name": name, "value": value, "inline": len(value) <= 40}
        for name, value in (
            (trim(name, FIELD_NAME_LIMIT), trim(value, FIELD_VALUE_LIMIT)) for name, value in message.facts
        )
        if name and value  # Discord refuses an empty field name or value
    ][: FIELDS_LIMIT - len(actions)]
    footer = trim(message.footer, FOOTER_LIMIT)
    fixed = (
        utf16_length(title) + utf16_length(footer) + sum(utf16_length(f["name"] + f["value"]) for f in fields + actions)
    )
    while fields and fixed > EMBED_TOTAL_LIMIT:
        last = fields.pop()
        fixed -= utf16_length(last["name"] + last["value"])
    fields += actions
    if fixed > EMBED_TOTAL_LIMIT:
        footer = trim(footer, EMBED_TOTAL_LIMIT - (fixed - utf16_length(footer)))
        fixed = utf16_length(title) + utf16_length(footer)
    description = trim(body, min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - fixed))
    card: dict[str, Any] = {"type": "rich", "color": colour(message.score)}
    if title:
        card["title"] = title
    if link := _web_url(message.link):
        card["url"] = link
    if description:
        card["description"] = description
    if fields:
        card["fields"] = fields
    if image := _web_url(message.image):
        card["image"] = {"url": image}
    if footer:
        card["footer"] = {"text": footer}
    if message.timestamp is not None:
        card["timestamp"] = message.timestamp.isoformat()
    return card


def action_field(actions: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    """("Stop watching", url) as `[{"name": "Watchlist", "value": "[Stop watching](url)"}]`; none without actions."""
    links = " · ".join(f"[{label}]({url})" for label, url in actions if _web_url(url))
    if not links or utf16_length(links) > FIELD_VALUE_LIMIT:
        return []
    return [{"name": "Watchlist", "value": links, "inline": False}]


def payload(message: Message) -> dict[str, Any]:
    """The execute-webhook body: one embed, and no mentions parsed (listing text can never ping anyone)."""
    return {"embeds": [embed(message)], "allowed_mentions": {"parse": []}}


# --- rate limits: per webhook, within this process ---------------------------------------------


@dataclass
class _Bucket:
    lock: threading.Lock  # held across a send: one request at a time per webhook in this process
    remaining: int | None = None  # None: unknown (no answer yet, or the window has passed)
    reset_at: float = 0.0  # time.monotonic() when the bucket refills
    name: str = ""  # Discord's X-RateLimit-Bucket


_buckets: dict[str, _Bucket] = {}
_buckets_lock = threading.Lock()
_global_until = 0.0  # time.monotonic() until which Discord's global limit holds every request


def _bucket(webhook_id: str) -> _Bucket:
    with _buckets_lock:
        bucket = _buckets.get(webhook_id)
        if bucket is None:
            bucket = _buckets[webhook_id] = _Bucket(threading.Lock())
        return bucket


def _wait_needed(bucket: _Bucket) -> float:
    """Seconds until a request to this bucket keeps within Discord's limits (0: now)."""
    now = time.monotonic()
    wait = max(0.0, _global_until - now)
    if bucket.remaining is not None and bucket.remaining <= 0 and bucket.reset_at > now:
        wait = max(wait, bucket.reset_at - now)
    return wait


def _note_limits(bucket: _Bucket, headers: Mapping[str, str]) -> None:
    remaining, reset_after = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset-After")
    try:
        if remaining is not None and reset_after is not None:
            bucket.remaining = int(remaining)
            # From when the answer arrived: later than Discord measured it, so never early.
            bucket.reset_at = time.monotonic() + float(reset_after)
    except ValueError:
        bucket.remaining = None
    bucket.name = headers.get("X-RateLimit-Bucket", bucket.name)


def _hold_everything(seconds: float) -> None:
    global _global_until
    with _buckets_lock:
        _global_until = max(_global_until, time.monotonic() + seconds)


def forget_rate_limits() -> None:
    """Forget every bucket (a test starting afresh against a new peer)."""
    global _global_until
    with _buckets_lock:
        _buckets.clear()
        _global_until = 0.0


# --- sending -----------------------------------------------------------------------------------


def _session() -> requests.Session:
    """This thread's HTTP session, kept so its connection to Discord is reused across sends."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no proxies or netrc credentials read from the environment per request
        session.headers["User-Agent"] = "DealAlerts/1.0 (deal alerts by webhook)"
        _local.session = session
    return session


def execute(webhook: Webhook, body: dict[str, Any]) -> Result:
    """Execute the webhook with `?wait=true` (Discord answers the message it made) and say how it went."""
    bucket = _bucket(webhook.id)
    with bucket.lock:
        for _ in range(MAX_TRIES):
            wait = _wait_needed(bucket)
            if wait > MAX_INLINE_WAIT_S:
                return Transient(f"Discord rate limit: the webhook has room again in {wait:.1f} s", retry_after=wait)
            if wait:
                time.sleep(wait)
            try:
                response = _session().post(
                    webhook.execute_url(),
                    params={"wait": "true"},
                    json=body,
                    timeout=SEND_TIMEOUT_S,
                    allow_redirects=False,  # never to wherever a redirect points
                )
            except requests.RequestException as error:  # its text holds the URL, token and all: not kept
                return Transient(f"Discord unreachable: {type(error).__name__}")
            _note_limits(bucket, response.headers)
            if response.status_code != 429:
                return classify(response)
            retry_after = _retry_after(response)
            if response.headers.get("X-RateLimit-Global", "").lower() == "true" or _json(response).get("global"):
                _hold_everything(retry_after)
            else:
                bucket.remaining, bucket.reset_at = 0, time.monotonic() + retry_after
        return Transient("Discord rate limit: still limited after waiting", retry_after=_wait_needed(bucket) or 1.0)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: requests.Response) -> float:
    """Seconds to wait after a 429: the JSON `retry_after` (seconds in v10), else the Retry-After header."""
    for value in (_json(response).get("retry_after"), response.headers.get("Retry-After")):
        try:
            if value is not None and math.isfinite(float(value)):
                return max(0.0, float(value))
        except (TypeError, ValueError):
            continue
    return 1.0


def _errors_in_words(errors: Any, path: str = "") -> list[str]:
    """Discord's nested form errors ({"embeds": {"0": {"title": {"_errors": [...]}}}}) as "embeds.0.title: …"."""
    if not isinstance(errors, dict):
        return []
    found = []
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            found += [f"{path}: {e.get('message', '')}" if path else str(e.get("message", "")) for e in value]
        else:
            found += _errors_in_words(value, f"{path}.{key}" if path else str(key))
    return found


def classify(response: requests.Response) -> Result:
    """Discord's answer to an execute-webhook call, as data."""
    status = response.status_code
    if 200 <= status < 300:
        return Sent(provider_id=str(_json(response).get("id", "")))
    body = _json(response)
    code = body.get("code") or status
    detail = "; ".join(_errors_in_words(body.get("errors")))
    words = f"Discord {code}: {body.get('message') or response.reason or 'no message'}"
    text = f"{words} ({detail})"[:500] if detail else words[:500]
    if status >= 500:
        return Transient(text)
    if status in (401, 403, 404) or code in (UNKNOWN_WEBHOOK, INVALID_WEBHOOK_TOKEN):
        return Permanent(text, address_dead=True)  # the webhook was deleted, or its token reset
    if 300 <= status < 400:
        return Permanent(f"Discord answered {status} (a redirect, not followed)")
    return Permanent(text)


class DiscordChannel(Channel):
    name = "discord"
    label = "Discord"
    in_words = "Discord"
    setup_hint = "add a Discord webhook first"
    unverified_words = "not set up yet"
    disabled_words = "off because Discord no longer accepts the webhook: add it again"

    @contextmanager
    def session(self) -> Iterator[None]:
        _session()  # made once per thread and kept: the connection to Discord outlives the batch
        yield

    def send(self, address: "Address", message: Message, key: str) -> Result:
        try:
            webhook = parse_webhook_url(address.value)
        except ValidationError:  # stored before these rules, or altered: never sent anywhere else
            return Permanent("the stored Discord webhook URL is not Discord's", address_dead=True)
        return execute(webhook, payload(message))
