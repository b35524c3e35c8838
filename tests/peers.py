"""Local protocol peers: real HTTP and SMTP servers on 127.0.0.1 for testing providers.

Notification providers are tested against servers that speak their protocol over a
socket, never against mocked function calls, so retries, timeouts, headers and
serialization are exercised as they are in production.

- `RecordingHTTPServer`: records every request; replies are scripted per path prefix,
  else `default_reply` answers (200 `{}`).
- `PostmarkPeer`: Postmark's send API as django-anymail's Postmark backend uses it,
  with scripted failures (`fail_next`).
- `SMTPPeer`: an aiosmtpd server keeping each message as an `EmailMessage`.
- Fixtures `http_peer`, `postmark_peer`, `smtp_peer` (the last two point Django's
  email settings at the peer).
- A CLI for benchmarks, a Postmark sink in its own process:
  `python -m tests.peers postmark --port 0` prints its URL as the first line and
  answers `GET /_stats` with `{"accepted": N, "by_key": {dedup_key: count}}`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from aiosmtpd.controller import Controller
from requests.structures import CaseInsensitiveDict

if TYPE_CHECKING:
    from aiosmtpd.smtp import SMTP, Envelope, Session
    from pytest_django.fixtures import SettingsWrapper

HOST = "127.0.0.1"

JSONBody = dict[str, Any] | list[Any]


@dataclass(frozen=True)
class Recorded:
    """One request as the peer received it."""

    method: str
    path: str  # as sent, query string included
    headers: CaseInsensitiveDict  # case-insensitive: headers["content-type"] works
    body: bytes
    json: Any = None  # the parsed body when Content-Type says JSON (None if it fails to parse)
    form: dict[str, str] | None = None  # the parsed body when urlencoded; a repeated key keeps its last value

    @classmethod
    def parse(cls, method: str, path: str, headers: CaseInsensitiveDict, body: bytes) -> Recorded:
        content_type = headers.get("Content-Type", "").lower()
        parsed_json = None
        if "json" in content_type:
            with contextlib.suppress(ValueError):
                parsed_json = json.loads(body)
        form = None
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        return cls(method, path, headers, body, parsed_json, form)

    @property
    def route(self) -> str:
        """The path without its query string."""
        return urlsplit(self.path).path


@dataclass(frozen=True)
class Reply:
    """A scripted answer: a dict or list goes out as JSON, a str as text, bytes as they are."""

    status: int = 200
    body: JSONBody | bytes | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering, on top of the peer's own `delay`

    def encode(self) -> tuple[bytes, str]:
        """The body's bytes and its default Content-Type."""
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


class _Handler(BaseHTTPRequestHandler):
    server: RecordingHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive: every reply carries a Content-Length
    disable_nagle_algorithm = True  # else headers and body, written apart, wait ~40 ms for a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no line on stderr per request

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        recorded = Recorded.parse(self.command, self.path, CaseInsensitiveDict(self.headers.items()), self._read_body())
        reply = self.server.handle_recorded(recorded)
        delay = self.server.delay + reply.delay
        if delay and self.server.stopping.wait(delay):
            self.close_connection = True  # shutting down: leave without answering
            return
        body, content_type = reply.encode()
        headers = CaseInsensitiveDict({"Content-Type": content_type, **reply.headers})
        headers["Content-Length"] = str(len(body))
        try:
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except ConnectionError:  # the client gave up (a timeout test), nothing to tell it
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class RecordingHTTPServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that records requests and answers as scripted.

        with RecordingHTTPServer() as peer:
            peer.script("/hook", Reply(500), Reply(200, {"ok": True}))
            ...  # the code under test talks to peer.url
            first, second = peer.wait_for(2)

    `delay` (seconds) holds every answer back, for timeout tests; the request is
    recorded, and a subclass has acted on it, before the wait. `record=False` keeps
    no requests (a long-running sink).
    """

    daemon_threads = True
    request_queue_size = 128  # bursts of new connections from a benchmark

    def __init__(self, *, port: int = 0, delay: float = 0.0, record: bool = True) -> None:
        super().__init__((HOST, port), _Handler)
        self.delay = delay
        self.record = record
        self.stopping = threading.Event()
        self._state = threading.Condition(threading.RLock())  # guards all recorded and scripted state
        self._requests: list[Recorded] = []
        self._scripted: deque[tuple[str | None, Reply]] = deque()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is routine here; anything else is reported.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def requests(self) -> list[Recorded]:
        """A snapshot of the requests received so far, in order."""
        with self._state:
            return list(self._requests)

    def wait_for(self, count: int, timeout: float = 10) -> list[Recorded]:
        """Block until at least `count` requests have arrived and return them all."""
        with self._state:
            self._wait(lambda: len(self._requests) >= count, timeout, f"{count} request(s)")
            return list(self._requests)

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait (holding the state lock) until `done()`; on timeout, say what did arrive."""
        if not self._state.wait_for(done, timeout):
            got = [f"{r.method} {r.path}" for r in self._requests]
            detail = f"{len(got)} request(s): {got}" if self.record else "(requests are not recorded)"
            raise AssertionError(f"{type(self).__name__} at {self.url}: waited {timeout}s for {what}, got {detail}")

    def script(self, path_prefix: str | None, *replies: Reply) -> None:
        """Queue replies, each used once, in order, by the next request whose path starts with
        `path_prefix` (`None`: any request). With none queued, `default_reply` answers."""
        with self._state:
            self._scripted.extend((path_prefix, reply) for reply in replies)

    def clear(self) -> None:
        """Forget the requests received and the replies still scripted."""
        with self._state:
            self._requests.clear()
            self._scripted.clear()

    def default_reply(self, recorded: Recorded) -> Reply:
        """The answer when nothing is scripted; subclasses speak their protocol here."""
        return Reply(200, {})

    def handle_recorded(self, recorded: Recorded) -> Reply:
        """Called by the handler thread: choose the reply, then record the request (so a
        waiter woken by it sees what the reply did)."""
        with self._state:
            reply = self._pop_scripted(recorded.path)
            if reply is None:
                reply = self.default_reply(recorded)
            if self.record:
                self._requests.append(recorded)
            self._state.notify_all()
        return reply

    def _pop_scripted(self, path: str) -> Reply | None:
        for index, (prefix, reply) in enumerate(self._scripted):
            if prefix is None or path.startswith(prefix):
                del self._scripted[index]
                return reply
        return None


# --- Postmark ----------------------------------------------------------------------------

FailureKind = Literal["rate_limited", "server_error", "inactive_recipient", "invalid", "invalid_recipient"]
REQUEST_FAILURES = ("rate_limited", "server_error")  # fail a whole request, batch or not
MESSAGE_FAILURES = ("inactive_recipient", "invalid", "invalid_recipient")  # refuse one message

SINGLE_ENDPOINTS = ("/email", "/email/withTemplate", "/email/withTemplate/")
BATCH_ENDPOINTS = ("/email/batch", "/email/batchWithTemplates")


class PostmarkPeer(RecordingHTTPServer):
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

    def __init__(self, *, token: str = "test-token", port: int = 0, delay: float = 0.0, record: bool = True) -> None:
        super().__init__(port=port, delay=delay, record=record)
        self.token = token
        self._messages: list[dict[str, Any]] = []
        self._failures: deque[tuple[FailureKind, int]] = deque()
        self._accepted = 0
        self._by_key: Counter[str] = Counter()
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

    def fail_next(self, kind: FailureKind, count: int = 1, *, retry_after: int = 1) -> None:
        """Refuse the next `count` sends with `kind` (see the class docstring)."""
        if kind not in REQUEST_FAILURES + MESSAGE_FAILURES:
            raise ValueError(f"unknown failure kind {kind!r}")
        with self._state:
            self._failures.extend([(kind, retry_after)] * count)

    def stats(self) -> dict[str, Any]:
        with self._state:
            return {"accepted": self._accepted, "by_key": dict(self._by_key)}

    def clear(self) -> None:
        with self._state:
            super().clear()
            self._messages.clear()
            self._failures.clear()
            self._accepted = 0
            self._by_key.clear()
            self._ids_by_key.clear()

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
        self._accepted += 1
        self._by_key[str(metadata.get("dedup_key", ""))] += 1
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


# --- SMTP --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    """One SMTP transaction: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _EphemeralPortController(Controller):
    """aiosmtpd's Controller, able to listen on port 0: it learns the port the OS gave
    before its start-up check connects to it."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPPeer:
    """An SMTP server on 127.0.0.1 (aiosmtpd) keeping each message it accepts.

    with SMTPPeer() as peer:
        ...  # send to peer.host:peer.port
        [message] = peer.wait_for(1)  # email.message.EmailMessage
    """

    host = HOST

    def __init__(self, *, port: int = 0) -> None:
        self._controller = _EphemeralPortController(self, hostname=HOST, port=port)
        self._state = threading.Condition()
        self._received: list[ReceivedMail] = []

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        with self._state:
            self._received.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
            self._state.notify_all()
        return "250 Message accepted for delivery"

    @property
    def received(self) -> list[ReceivedMail]:
        with self._state:
            return list(self._received)

    @property
    def messages(self) -> list[EmailMessage]:
        with self._state:
            return [mail.message for mail in self._received]

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Block until at least `count` messages have arrived and return them all."""
        with self._state:
            if not self._state.wait_for(lambda: len(self._received) >= count, timeout):
                subjects = [mail.message["Subject"] for mail in self._received]
                raise AssertionError(f"SMTPPeer: waited {timeout}s for {count} message(s), got {subjects}")
            return [mail.message for mail in self._received]

    def clear(self) -> None:
        with self._state:
            self._received.clear()


# --- Fixtures (made available to the suite by tests/conftest.py) --------------------------


@pytest.fixture
def http_peer() -> Iterator[RecordingHTTPServer]:
    with RecordingHTTPServer() as peer:
        yield peer


@pytest.fixture
def postmark_peer(settings: SettingsWrapper) -> Iterator[PostmarkPeer]:
    """A PostmarkPeer that Django's email goes to, through anymail's Postmark backend."""
    with PostmarkPeer() as peer:
        settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
        # anymail joins "email", "email/batch"... to the URL, which must end in "/".
        settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": peer.token, "POSTMARK_API_URL": peer.url + "/"}
        yield peer


@pytest.fixture
def smtp_peer(settings: SettingsWrapper) -> Iterator[SMTPPeer]:
    """An SMTPPeer that Django's SMTP backend sends to."""
    with SMTPPeer() as peer:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = peer.host
        settings.EMAIL_PORT = peer.port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield peer


# --- CLI: a sink in its own process, for benchmarks --------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.peers", description="Serve a protocol peer until killed.")
    parser.add_argument("kind", choices=["postmark"])
    parser.add_argument("--port", type=int, default=0, help="0: any free port (the default)")
    parser.add_argument("--token", default="test-token", help="the X-Postmark-Server-Token to require")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to hold back every answer")
    args = parser.parse_args(argv)
    peer = PostmarkPeer(token=args.token, port=args.port, delay=args.delay, record=False)
    print(peer.url, flush=True)
    try:
        peer.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        peer.server_close()


if __name__ == "__main__":
    main()
