"""Discord's execute-webhook API, with its embed limits checked, its per-webhook rate limits enforced
(and every request past them counted), and scripted failures (`fail_next`, `delete_webhook`)."""

from __future__ import annotations

import itertools
import math
import re
import time
from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any, Literal

from .recording import Recorded, RecordingHTTPServer, Reply

FailureKind = Literal["unknown_webhook", "invalid_form", "rate_limited", "global_rate_limited", "server_error"]
FAILURE_KINDS = ("unknown_webhook", "invalid_form", "rate_limited", "global_rate_limited", "server_error")

API_PREFIX = "/api/v10"
EXECUTE_ROUTE = re.compile(r"/api/v10/webhooks/(?P<id>[0-9]+)/(?P<token>[A-Za-z0-9_-]+)/?")

# https://discord.com/developers/docs/resources/message#embed-object-embed-limits (UTF-16 code units)
LIMITS = {"title": 256, "description": 4096, "field_name": 256, "field_value": 1024, "footer": 2048, "author": 256}
MAX_FIELDS = 25
MAX_EMBED_TOTAL = 6000
MAX_EMBEDS = 10
MAX_CONTENT = 2000


def units(text: str) -> int:
    """UTF-16 code units, as Discord counts."""
    return len(text.encode("utf-16-le")) // 2


def _error(code: int, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return body


def _nest(path: list[str], leaf: dict[str, Any]) -> dict[str, Any]:
    for key in reversed(path):
        leaf = {key: leaf}
    return leaf


def _too_long(limit: int) -> dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}]}


def _required() -> dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}


def form_errors(body: Any) -> dict[str, Any] | None:
    """Discord's 50035 `errors` for an execute-webhook body, or None when Discord would take it."""
    if not isinstance(body, dict):
        return {"_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may be used in a DictType"}]}
    content = body.get("content") or ""
    if units(content) > MAX_CONTENT:
        return {"content": _too_long(MAX_CONTENT)}
    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        return {"embeds": _too_long(MAX_EMBEDS)}
    for i, embed in enumerate(embeds):
        at = ["embeds", str(i)]
        for key, limit in (("title", LIMITS["title"]), ("description", LIMITS["description"])):
            if units(embed.get(key) or "") > limit:
                return _nest([*at, key], _too_long(limit))
        fields = embed.get("fields") or []
        if len(fields) > MAX_FIELDS:
            return _nest([*at, "fields"], _too_long(MAX_FIELDS))
        for j, field in enumerate(fields):
            for key, limit in (("name", LIMITS["field_name"]), ("value", LIMITS["field_value"])):
                text = field.get(key)
                if not isinstance(text, str) or not text.strip():
                    return _nest([*at, "fields", str(j), key], _required())
                if units(text) > limit:
                    return _nest([*at, "fields", str(j), key], _too_long(limit))
        footer = (embed.get("footer") or {}).get("text") or ""
        if units(footer) > LIMITS["footer"]:
            return _nest([*at, "footer", "text"], _too_long(LIMITS["footer"]))
        author = (embed.get("author") or {}).get("name") or ""
        if units(author) > LIMITS["author"]:
            return _nest([*at, "author", "name"], _too_long(LIMITS["author"]))
        total = units(embed.get("title") or "") + units(embed.get("description") or "") + units(footer)
        total += units(author) + sum(units(f.get("name", "")) + units(f.get("value", "")) for f in fields)
        if total > MAX_EMBED_TOTAL:
            return _nest(
                at,
                {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Embed size exceeds maximum size of 6000"}]},
            )
    return None


class DiscordPeer(RecordingHTTPServer):
    """Discord's `POST /api/v10/webhooks/{id}/{token}` (point DISCORD_API_URL at `peer.url + "/api/v10"`).

    - Any webhook id is taken, with the first token it is used with; another token → 401, code 50027
      "Invalid Webhook Token". A deleted one (`delete_webhook`) → 404, code 10015 "Unknown Webhook".
    - The JSON body is checked against the embed limits (UTF-16 units); over one → 400, code 50035
      "Invalid Form Body" with Discord's nested `errors`. No content and no embeds → 400, 50006.
    - `?wait=true` → 200 with the message (an `id` snowflake, the embeds); without it → 204.
    - Each webhook is a bucket of `limit` requests per `window` seconds, counted from the first
      request of a window. Every answer carries X-RateLimit-Limit, -Remaining, -Reset (epoch s),
      -Reset-After (s, rounded up to the ms) and -Bucket; a request past the limit gets 429 with
      JSON `{"message", "retry_after" (s), "global": false}` and is counted in `violations`.
    - `fail_next`: "unknown_webhook" (404, 10015), "invalid_form" (400, 50035), "rate_limited"
      (429 with `retry_after`), "global_rate_limited" (429, `global: true`, X-RateLimit-Global),
      "server_error" (502). Scripted 429s are not counted as violations.
    - `GET /_stats` (not Discord's): `{"accepted", "by_key", "violations", "limit", "window"}`,
      `by_key` counting accepted messages by their first embed's `url` (a deal's tracked link).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        delay: float = 0.0,
        record: bool = True,
        limit: int = 5,
        window: float = 2.0,
        echo: bool = False,
    ) -> None:
        super().__init__(port=port, delay=delay, record=record)
        self.echo = echo  # print a line for each message taken (`make run`'s demo shows deals arriving)
        self.limit, self.window = limit, window
        self._initial_limits = (limit, window)
        self._ids = itertools.count(int(time.time() * 1000 - 1420070400000) << 22)
        self._tokens: dict[str, str] = {}
        self._deleted: set[str] = set()
        self._windows: dict[str, tuple[float, int]] = {}  # webhook id → (window ends, requests in it)
        self._failures: deque[tuple[FailureKind, float]] = deque()
        self._messages: list[dict[str, Any]] = []
        self._accepted = 0
        self._violations = 0
        self._by_key: Counter[str] = Counter()

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def webhook_url(self, webhook_id: str = "123456789012345678", token: str = "peer-token") -> str:
        """A URL as Discord shows it to a user: what they paste (sends go to the peer by id and token)."""
        return f"https://discord.com/api/webhooks/{webhook_id}/{token}"

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Accepted messages: webhook_id, id, body (the JSON sent), query (the query string)."""
        with self._state:
            return list(self._messages)

    @property
    def violations(self) -> int:
        with self._state:
            return self._violations

    def wait_for_messages(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        with self._state:
            self._wait(lambda: len(self._messages) >= count, timeout, f"{count} accepted message(s)")
            return list(self._messages)

    def fail_next(self, kind: FailureKind, count: int = 1, *, retry_after: float = 0.5) -> None:
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}")
        with self._state:
            self._failures.extend([(kind, retry_after)] * count)

    def delete_webhook(self, webhook_id: str) -> None:
        with self._state:
            self._deleted.add(webhook_id)

    def stats(self) -> dict[str, Any]:
        with self._state:
            return {
                "accepted": self._accepted,
                "by_key": dict(self._by_key),
                "violations": self._violations,
                "limit": self.limit,
                "window": self.window,
            }

    def clear(self) -> None:
        with self._state:
            super().clear()
            self._tokens.clear()
            self._deleted.clear()
            self._windows.clear()
            self._failures.clear()
            self._messages.clear()
            self._accepted = self._violations = 0
            self._by_key.clear()

    def reset(self) -> None:
        with self._state:
            super().reset()
            self.limit, self.window = self._initial_limits

    # --- the API ---------------------------------------------------------------------------

    def default_reply(self, recorded: Recorded) -> Reply:
        route = recorded.route
        if route == "/_stats" and recorded.method == "GET":
            return Reply(200, self.stats())
        match = EXECUTE_ROUTE.fullmatch(route)
        if match is None:
            return Reply(404, _error(0, "404: Not Found"))
        if recorded.method != "POST":
            return Reply(405, _error(0, "405: Method Not Allowed"))
        webhook_id, token = match["id"], match["token"]
        if webhook_id in self._deleted:
            return Reply(404, _error(10015, "Unknown Webhook"))
        if self._tokens.setdefault(webhook_id, token) != token:
            return Reply(401, _error(50027, "Invalid Webhook Token"))
        limited, headers = self._count(webhook_id)
        if limited is not None:
            self._violations += 1
            return limited
        if self._failures:
            return self._failure(*self._failures.popleft(), headers=headers)
        if recorded.json is None:
            return Reply(400, _error(50109, "The request body contains invalid JSON."), headers)
        errors = form_errors(recorded.json)
        if errors is not None:
            return Reply(400, _error(50035, "Invalid Form Body", errors), headers)
        if not recorded.json.get("content") and not recorded.json.get("embeds"):
            return Reply(400, _error(50006, "Cannot send an empty message"), headers)
        message = self._accept(webhook_id, recorded)
        if "wait=true" not in recorded.path.partition("?")[2].lower():
            return Reply(204, b"", headers)
        return Reply(200, message, headers)

    def _count(self, webhook_id: str) -> tuple[Reply | None, dict[str, str]]:
        """Count a request against its webhook's bucket: (a 429 when over the limit, else None; the headers)."""
        now = time.monotonic()
        ends, used = self._windows.get(webhook_id, (0.0, 0))
        if now >= ends:
            ends, used = now + self.window, 0
        left = ends - now
        reset_after = math.ceil(left * 1000) / 1000
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"webhook-{webhook_id[-6:]}",
        }
        if used >= self.limit:
            headers |= {"X-RateLimit-Remaining": "0", "Retry-After": str(math.ceil(left)), "X-RateLimit-Scope": "user"}
            body = {"message": "You are being rate limited.", "retry_after": reset_after, "global": False}
            return Reply(429, body, headers), headers
        self._windows[webhook_id] = (ends, used + 1)
        headers["X-RateLimit-Remaining"] = str(self.limit - used - 1)
        return None, headers

    @staticmethod
    def _failure(kind: FailureKind, retry_after: float, *, headers: dict[str, str]) -> Reply:
        if kind in ("rate_limited", "global_rate_limited"):
            is_global = kind == "global_rate_limited"
            body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
            extra = {"Retry-After": str(math.ceil(retry_after))}
            if is_global:
                extra["X-RateLimit-Global"] = "true"
                return Reply(429, body, extra)
            return Reply(429, body, {**headers, **extra, "X-RateLimit-Remaining": "0"})
        if kind == "server_error":
            return Reply(502, "<html><body>502 Bad Gateway</body></html>")
        if kind == "unknown_webhook":
            return Reply(404, _error(10015, "Unknown Webhook"), headers)
        errors = {
            "embeds": {
                "0": {
                    "image": {
                        "url": {"_errors": [{"code": "URL_TYPE_INVALID_URL", "message": "Not a well formed URL."}]}
                    }
                }
            }
        }
        return Reply(400, _error(50035, "Invalid Form Body", errors), headers)

    def _accept(self, webhook_id: str, recorded: Recorded) -> dict[str, Any]:
        message_id = str(next(self._ids))
        body = recorded.json
        embeds = body.get("embeds") or []
        key = (embeds[0].get("url") or "") if embeds else ""
        self._accepted += 1
        self._by_key[key] += 1
        if self.echo:
            title = (embeds[0].get("title") or "") if embeds else (body.get("content") or "")
            print(f"Discord webhook {webhook_id}: message {message_id}: {title} {key}".rstrip(), flush=True)
        if self.record:
            self._messages.append(
                {"webhook_id": webhook_id, "id": message_id, "body": body, "query": recorded.path.partition("?")[2]}
            )
        return {
            "id": message_id,
            "type": 0,
            "content": body.get("content") or "",
            "channel_id": "1100000000000000000",
            "author": {"id": webhook_id, "username": "Deal Alerts", "bot": True, "discriminator": "0000"},
            "embeds": embeds,
            "mentions": [],
            "attachments": [],
            "timestamp": datetime.now(UTC).isoformat(),
            "webhook_id": webhook_id,
        }
