"""A recording HTTP server on 127.0.0.1: the base of every HTTP provider's peer.

It records every request; replies are scripted per path prefix, else `default_reply` answers
(200 `{}`), which a provider's peer overrides to speak that provider's API.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from requests.structures import CaseInsensitiveDict

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
        self._initial_delay = delay
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

    def reset(self) -> None:
        """Back to as started: nothing recorded or scripted, the delay it was made with. A peer that
        lives for a whole test session is reset between tests."""
        with self._state:
            self.clear()
            self.delay = self._initial_delay

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


class ScriptedPeer(RecordingHTTPServer):
    """A provider's peer that counts what it accepted by a key (`stats`) and fails as scripted (`fail_next`).

    Subclasses name their failure kinds, pop `_failures` where their API would fail, and count each
    accepted message with `_accept_key`.
    """

    failure_kinds: tuple[str, ...] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._failures: deque[tuple[str, int]] = deque()
        self._accepted = 0
        self._by_key: Counter[str] = Counter()

    def fail_next(self, kind: str, count: int = 1, *, retry_after: int = 1) -> None:
        """Refuse the next `count` sends with `kind` (see the class docstring)."""
        if kind not in self.failure_kinds:
            raise ValueError(f"unknown failure kind {kind!r}")
        with self._state:
            self._failures.extend([(kind, retry_after)] * count)

    def stats(self) -> dict[str, Any]:
        with self._state:
            return {"accepted": self._accepted, "by_key": dict(self._by_key)}

    def clear(self) -> None:
        with self._state:
            super().clear()
            self._failures.clear()
            self._accepted = 0
            self._by_key.clear()

    def _accept_key(self, key: str) -> None:
        self._accepted += 1
        self._by_key[key] += 1
