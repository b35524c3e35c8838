"""Twilio's Programmable Messaging API, as the `twilio` library sends to it, with scripted failures
(`fail_next`), and Twilio's signed webhooks back to the app (`post_status`, `post_inbound`)."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import requests
from twilio.request_validator import RequestValidator

from .recording import Recorded, Reply, ScriptedPeer

FailureKind = Literal["rate_limited", "server_error", "invalid_number", "unsubscribed", "not_mobile", "landline"]
FAILURE_KINDS = ("rate_limited", "server_error", "invalid_number", "unsubscribed", "not_mobile", "landline")

API_VERSION = "2010-04-01"
MESSAGES_ROUTE_PREFIX = f"/{API_VERSION}/Accounts/"

# GSM 03.38: the basic set (one septet each) and the extension table (escape + one septet), to count
# segments the way Twilio bills them. Written out here so the peer checks the sender's own count.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    """Twilio's JSON error body (the legacy shape the library turns into `TwilioRestException`)."""
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return {"code": code, "message": message, "more_info": more_info, "status": status}


def _segments(body: str) -> int:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in body):
        septets = sum(2 if c in GSM7_EXTENSION else 1 for c in body)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class TwilioPeer(ScriptedPeer):
    """Twilio's Messages API as `twilio.rest.Client` uses it (with `client.api.base_url = peer.url`).

    `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded (To, From or
    MessagingServiceSid, Body, StatusCallback, ValidityPeriod...), HTTP Basic auth
    `AccountSid:AuthToken`. A send is answered 201 with a Message resource (`sid` "SM" + 32 hex,
    `status` "queued", or "accepted" through a Messaging Service). `GET /_stats` (not Twilio's)
    answers `{"accepted": N, "by_key": {...}}`, counting accepted messages by the `d` query
    parameter of their StatusCallback URL (the sender's dedup key; "" when absent).

    How each answer surfaces through the library (all `twilio.base.exceptions.TwilioRestException`,
    `.status` the HTTP status, `.code` Twilio's code, `.msg` "Unable to create record: <message>"):

    - wrong or missing credentials: 401, code 20003 "Authenticate".
    - no To: 400, 21604; no Body: 400, 21602; neither From nor MessagingServiceSid: 400, 21603.
    - "rate_limited": 429, code 20429 "Too Many Requests", `Retry-After` header (the exception
      does not carry headers: read them off the http client's last response). Transient.
    - "server_error": 500, code 20500 "An internal server error has occurred". Transient.
    - "invalid_number": 400, 21211 "The 'To' number ... is not a valid phone number.".
    - "unsubscribed": 400, 21610 "Attempt to send to unsubscribed recipient" (the recipient
      texted STOP).
    - "not_mobile": 400, 21614 "'To' number is not a valid mobile number".
    - "landline": 400, 21635 "'To' number cannot be a landline".
    """

    failure_kinds = FAILURE_KINDS

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "0" * 32,
        token: str = "test-auth-token",
        port: int = 0,
        delay: float = 0.0,
        record: bool = True,
    ) -> None:
        super().__init__(port=port, delay=delay, record=record)
        self.account_sid = account_sid
        self.token = token
        self._initial_credentials = (account_sid, token)
        self._messages: list[dict[str, Any]] = []
        self._by_sid: dict[str, dict[str, Any]] = {}

    @property
    def messages_route(self) -> str:
        return f"{MESSAGES_ROUTE_PREFIX}{self.account_sid}/Messages.json"

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The accepted messages, in order: sid, account_sid, to, from, messaging_service_sid, body,
        status_callback, validity_period (an int or None), num_segments, key (the callback's `d`)."""
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
            self._by_sid.clear()

    def reset(self) -> None:
        with self._state:
            super().reset()
            self.account_sid, self.token = self._initial_credentials

    # --- the API ---------------------------------------------------------------------------

    def default_reply(self, recorded: Recorded) -> Reply:
        route = recorded.route
        if route == "/_stats" and recorded.method == "GET":
            return Reply(200, self.stats())
        if not (route.startswith(MESSAGES_ROUTE_PREFIX) and route.endswith("/Messages.json")):
            return Reply(404, _error(404, 20404, f"The requested resource {route} was not found"))
        if not self._authenticated(recorded, route):
            return Reply(401, _error(401, 20003, "Authenticate"))
        if recorded.method != "POST":
            return Reply(405, _error(405, 20004, "Method not allowed"))
        form = recorded.form or {}
        error = self._validation_error(form)
        if error is not None:
            return Reply(400, _error(400, *error))
        if self._failures:
            return self._failure(*self._failures.popleft(), to=form["To"])
        return Reply(201, self._accept(form))

    def _authenticated(self, recorded: Recorded, route: str) -> bool:
        scheme, _, encoded = recorded.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            sid, _, token = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        in_path = route[len(MESSAGES_ROUTE_PREFIX) :].split("/", 1)[0]
        return (
            secrets.compare_digest(sid, self.account_sid)
            and secrets.compare_digest(token, self.token)
            and (in_path == sid)
        )

    @staticmethod
    def _validation_error(form: dict[str, str]) -> tuple[int, str] | None:
        if not form.get("To"):
            return 21604, "A 'To' phone number is required."
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 21603, "A 'From' phone number is required."
        if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
            return 21602, "Message body is required."
        validity = form.get("ValidityPeriod")
        if validity is not None and not (validity.isdigit() and 1 <= int(validity) <= 36000):
            return 21609, f"Invalid ValidityPeriod: {validity}. It must be between 1 and 36000 seconds."
        return None

    @staticmethod
    def _failure(kind: FailureKind, retry_after: int, *, to: str) -> Reply:
        if kind == "rate_limited":
            return Reply(429, _error(429, 20429, "Too Many Requests"), headers={"Retry-After": str(retry_after)})
        if kind == "server_error":
            return Reply(500, _error(500, 20500, "An internal server error has occurred"))
        code, message = {
            "invalid_number": (21211, f"The 'To' number {to} is not a valid phone number."),
            "unsubscribed": (21610, "Attempt to send to unsubscribed recipient"),
            "not_mobile": (21614, f"'To' number {to} is not a valid mobile number"),
            "landline": (21635, f"'To' number {to} cannot be a landline"),
        }[kind]
        return Reply(400, _error(400, code, message))

    def _accept(self, form: dict[str, str]) -> dict[str, Any]:
        sid = _sid("SM")
        now = format_datetime(datetime.now(UTC))
        callback = form.get("StatusCallback", "")
        key = parse_qs(urlsplit(callback).query).get("d", [""])[0]
        service = form.get("MessagingServiceSid")
        validity = form.get("ValidityPeriod")
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": service,
            "body": form.get("Body", ""),
            "status_callback": callback,
            "validity_period": int(validity) if validity else None,
            "num_segments": _segments(form.get("Body", "")),
            "key": key,
        }
        self._accept_key(key)
        self._by_sid[sid] = message
        if self.record:
            self._messages.append(message)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message["body"],
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message["from"],
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(message["num_segments"]),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": message["to"],
            "uri": uri,
        }

    # --- webhooks from Twilio to the app ----------------------------------------------------

    def post_status(
        self, sid: str, status: str, error_code: int | None = None, *, bad_signature: bool = False
    ) -> tuple[int, str]:
        """Post a status callback for an accepted message to its StatusCallback URL, signed as
        Twilio signs it; the app's (status, body). `error_code` goes out as ErrorCode."""
        with self._state:
            message = self._by_sid.get(sid)
        if message is None:
            raise KeyError(f"no accepted message {sid}")
        if not message["status_callback"]:
            raise ValueError(f"message {sid} was sent without a StatusCallback")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message["from"] or "",
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message["to"],
        }
        if message["messaging_service_sid"]:
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return self._post_signed(message["status_callback"], params, bad_signature)

    def post_inbound(
        self, url: str, from_: str, body: str, to: str | None = None, *, bad_signature: bool = False
    ) -> tuple[int, str]:
        """Post an incoming message webhook (someone texted `to`, e.g. STOP) to `url`, signed; the
        app's (status, body)."""
        sid = _sid("SM")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": str(_segments(body)),
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to or "+15005550006",
        }
        return self._post_signed(url, params, bad_signature)

    def signature(self, url: str, params: dict[str, str]) -> str:
        """`X-Twilio-Signature` for a POST of `params` to `url`, by the Auth Token (HMAC-SHA1)."""
        return RequestValidator(self.token).compute_signature(url, params)

    def _post_signed(self, url: str, params: dict[str, str], bad_signature: bool) -> tuple[int, str]:
        signature = self.signature(url, params)
        if bad_signature:
            signature = RequestValidator(self.token + "-wrong").compute_signature(url, params)
        headers = {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"}
        response = requests.post(url, data=params, headers=headers, timeout=10)
        return response.status_code, response.text
