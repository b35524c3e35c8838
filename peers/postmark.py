"""Postmark's send API, as django-anymail's Postmark backend uses it, with scripted failures (`fail_next`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from .recording import Recorded, Reply, ScriptedPeer

FailureKind = Literal["rate_limited", "server_error", "inactive_recipient", "invalid", "invalid_recipient"]
REQUEST_FAILURES = ("rate_limited", "server_error")  # fail a whole request, batch or not
MESSAGE_FAILURES = ("inactive_recipient", "invalid", "invalid_recipient")  # refuse one message

SINGLE_ENDPOINTS = ("/email", "/email/withTemplate", "/email/withTemplate/")
BATCH_ENDPOINTS = ("/email/batch", "/email/batchWithTemplates")


class PostmarkPeer(ScriptedPeer):
    """Postmark's send API as django-anymail's Postmark backend uses it.

    Endpoints: POST /email, /email/withTemplate/ (templates are not rendered; the
    payload is kept as sent), /email/batch and /email/batchWithTemplates (answered
    per message, in a 200 list, like Postmark). The bulk API is not spoken (404).
    Every send needs `X-Postmark-Server-Token: <token>`, else 401 ErrorCode 10.
    `GET /_stats` (not Postmark's) answers `{"accepted": N, "by_key": {...}}`, counting
    accepted messages by `Metadata["dedup_key"]` ("" when absent).

    How each failure surfaces through anymail's Postmark backend
    (`anymail.backends.postmark.EmailBackend`, IGNORE_RECIPIENT_STATUS unset):

    - wrong token: 401 -> `AnymailRequestsAPIError`, `.status_code == 401`.
    - "rate_limited": 429 with `Retry-After` -> `AnymailRequestsAPIError`,
      `.status_code == 429`, `.response.headers["Retry-After"]`. Transient.
    - "server_error": 500 -> `AnymailRequestsAPIError`, `.status_code == 500`. Transient.
    - "inactive_recipient": 422 ErrorCode 406 -> `AnymailRecipientsRefused` (no
      `.status_code`; `.response.status_code == 422`); before raising, anymail sets
      `message.anymail_status.status == {"rejected"}`. Permanent for that address.
      With IGNORE_RECIPIENT_STATUS it does not raise: send() returns 1, status {"rejected"}.
    - "invalid": 422 ErrorCode 300 about the request -> `AnymailRequestsAPIError`,
      `.status_code == 422`. Permanent: the same payload fails again.
    - "invalid_recipient": 422 ErrorCode 300 "Invalid 'To' address" ->
      `AnymailRecipientsRefused`, `message.anymail_status.status == {"invalid"}`. Permanent.
    - a delay longer than ANYMAIL["REQUESTS_TIMEOUT"] -> an `AnymailRequestsAPIError`
      that is also a `requests.exceptions.Timeout`, `.status_code is None`. The peer
      has accepted the message by then (as Postmark may have): retrying sends a duplicate.

    In a batch, a message-level failure refuses the next message(s) in it (a 200 list
    with that item's ErrorCode); a request-level one fails the whole request.
    """

    failure_kinds = REQUEST_FAILURES + MESSAGE_FAILURES

    def __init__(self, *, token: str = "test-token", port: int = 0, delay: float = 0.0, record: bool = True) -> None:
        super().__init__(port=port, delay=delay, record=record)
        self.token = token
        self._initial_token = token
        self._messages: list[dict[str, Any]] = []
        self._ids_by_key: dict[str, list[str]] = {}

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The accepted message payloads (From, To, Subject, HtmlBody, TextBody, Headers,
        MessageStream, Metadata...), in order; a batch adds one per message."""
        with self._state:
            return list(self._messages)

    def wait_for_messages(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Block until at least `count` messages have been accepted and return them all."""
        with self._state:
            self._wait(lambda: len(self._messages) >= count, timeout, f"{count} accepted message(s)")
            return list(self._messages)

    def clear(self) -> None:
        with self._state:
            super().clear()
            self._messages.clear()
            self._ids_by_key.clear()

    def reset(self) -> None:
        with self._state:
            super().reset()
            self.token = self._initial_token

    def default_reply(self, recorded: Recorded) -> Reply:
        route = recorded.route
        if route == "/_stats" and recorded.method == "GET":
            return Reply(200, self.stats())
        if route == "/messages/outbound" and recorded.method == "GET":
            return self._search_outbound(recorded)
        if route not in SINGLE_ENDPOINTS + BATCH_ENDPOINTS:
            return Reply(404, {"ErrorCode": 404, "Message": f"No such endpoint: {route}"})
        if recorded.method != "POST":
            return Reply(405, {"ErrorCode": 405, "Message": "Use POST"})
        token = recorded.headers.get("X-Postmark-Server-Token")
        if token != self.token:
            missing = "No Server API token was supplied in the X-Postmark-Server-Token header."
            wrong = "The Server Token you provided in the X-Postmark-Server-Token request header was invalid."
            return Reply(401, {"ErrorCode": 10, "Message": wrong if token else missing})
        if self._failures and self._failures[0][0] in REQUEST_FAILURES:
            return self._request_failure(*self._failures.popleft())
        payload = recorded.json
        if route in SINGLE_ENDPOINTS:
            if not isinstance(payload, dict):
                return Reply(422, {"ErrorCode": 402, "Message": "Received invalid JSON input."})
            result = self._send_one(payload)
            return Reply(200 if result["ErrorCode"] == 0 else 422, result)
        if isinstance(payload, dict) and route == "/email/batchWithTemplates":
            payload = payload.get("Messages")
        if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
            return Reply(422, {"ErrorCode": 402, "Message": "Received invalid JSON input."})
        return Reply(200, [self._send_one(item) for item in payload])

    def _search_outbound(self, recorded: Recorded) -> Reply:
        """Postmark's outbound message search, by `metadata_dedup_key` only (what the sweep asks)."""
        if recorded.headers.get("X-Postmark-Server-Token") != self.token:
            return Reply(401, {"ErrorCode": 10, "Message": "Invalid server token."})
        query = parse_qs(urlsplit(recorded.path).query)
        key = query.get("metadata_dedup_key", [""])[0]
        ids = self._ids_by_key.get(key, []) if key else []
        found = [{"MessageID": message_id, "Metadata": {"dedup_key": key}, "Status": "Sent"} for message_id in ids]
        return Reply(200, {"TotalCount": len(found), "Messages": found[: int(query.get("count", ["100"])[0])]})

    def _request_failure(self, kind: FailureKind, retry_after: int) -> Reply:
        if kind == "rate_limited":
            body = {"ErrorCode": 429, "Message": "Rate limit exceeded. Slow down and retry later."}
            return Reply(429, body, headers={"Retry-After": str(retry_after)})
        return Reply(500, {"ErrorCode": 500, "Message": "Internal server error."})

    def _send_one(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Accept or refuse one message; the result is Postmark's JSON for it."""
        recipients = [
            address.lower()
            for _, address in getaddresses([str(payload.get(f, "")) for f in ("To", "Cc", "Bcc")])
            if address
        ]
        error = self._validation_error(payload, recipients)
        if error is None and self._failures and self._failures[0][0] in MESSAGE_FAILURES:
            error = self._message_failure(self._failures.popleft()[0], recipients)
        if error is not None:
            return {"ErrorCode": error[0], "Message": error[1]}
        metadata = payload.get("Metadata") or {}
        self._accept_key(str(metadata.get("dedup_key", "")))
        if self.record:
            self._messages.append(payload)
        message_id = str(uuid.uuid4())
        self._ids_by_key.setdefault(str(metadata.get("dedup_key", "")), []).append(message_id)
        result: dict[str, Any] = {
            "SubmittedAt": datetime.now(UTC).isoformat(),
            "MessageID": message_id,
            "ErrorCode": 0,
            "Message": "OK",
        }
        if payload.get("To"):
            result["To"] = payload["To"]
        return result

    @staticmethod
    def _validation_error(payload: dict[str, Any], recipients: list[str]) -> tuple[int, str] | None:
        """The checks Postmark makes that a test could trip by accident."""
        if not payload.get("From"):
            return 300, "Invalid 'From' address: ''."
        if not recipients:
            return 300, "Zero recipients specified"
        templated = "TemplateId" in payload or "TemplateAlias" in payload
        if not templated and not (payload.get("HtmlBody") or payload.get("TextBody")):
            return 300, "Provide either email TextBody or HtmlBody or both."
        return None

    @staticmethod
    def _message_failure(kind: FailureKind, recipients: list[str]) -> tuple[int, str]:
        if kind == "inactive_recipient":
            found = ", ".join(recipients)
            return 406, (
                "You tried to send to recipient(s) that have been marked as inactive.\n"
                f"Found inactive addresses: {found}.\n"
                "Inactive recipients are ones that have generated a hard bounce, a spam complaint, "
                "or a manual suppression. "
            )
        if kind == "invalid_recipient":
            return 300, f"Invalid 'To' address: '{recipients[0]}'."
        return 300, "Invalid email request: refused by the test peer."
