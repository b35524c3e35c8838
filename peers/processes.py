"""Subprocesses for benchmarks and crash tests: a Postmark sink, a Twilio sink and a real Celery worker.

Each runs in its own process group, so stopping (or SIGKILLing) one takes its children
with it. No pytest here: the benchmark commands (`bench_delivery`, `bench_digest`) use this
module as the suite does.

    with postmark_sink(delay=0.01) as sink, celery_worker(worker_env(sink.url)) as worker:
        ...  # enqueue; the worker sends to the sink
        sink.stats()  # {"accepted": N, "by_key": {dedup_key: count}}

    with postmark_sink() as email, twilio_sink() as sms, celery_worker(worker_env(email.url, twilio_url=sms.url)):
        ...  # texts go to the Twilio sink, emails (fallbacks) to the Postmark one
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent
POSTMARK_BACKEND = "anymail.backends.postmark.EmailBackend"
SINK_TOKEN = "test-token"
# The Twilio sink's credentials, and Twilio's own test sender number ("+15005550006" passes validation).
TWILIO_SINK_SID = "AC" + "0" * 32
TWILIO_SINK_TOKEN = "test-auth-token"
TWILIO_SINK_SENDER = "+15005550006"


def _stop_group(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after `timeout` seconds."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
    _kill_group(process)


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the whole process group (the main process and any pool children) and reap the leader."""
    with contextlib.suppress(ProcessLookupError):  # already gone, children included
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


# --- the provider sinks: Postmark and Twilio -------------------------------------------------------


@dataclass
class Sink:
    process: subprocess.Popen
    url: str  # no trailing slash

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/_stats", timeout=30) as response:
            return json.load(response)


@contextmanager
def _peer_process(kind: str, arguments: list[str], delay: float) -> Iterator[Sink]:
    """`python -m peers <kind>` in its own process group, until the block ends."""
    command = [sys.executable, "-m", "peers", kind, "--port", "0", *arguments]
    if delay:
        command += ["--delay", str(delay)]
    process = subprocess.Popen(command, cwd=BASE_DIR, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()  # the first line; EOF ("") if it died on start-up
        if not url.startswith("http://"):
            raise RuntimeError(f"the {kind} sink did not start (exit code {process.poll()}): {url!r}")
        yield Sink(process, url)
    finally:
        _stop_group(process, timeout=5)
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def postmark_sink(*, delay: float = 0.0) -> Iterator[Sink]:
    """`python -m peers postmark` in its own process; `delay` holds back every answer (seconds)."""
    with _peer_process("postmark", ["--token", SINK_TOKEN], delay) as sink:
        yield sink


@contextmanager
def twilio_sink(*, delay: float = 0.0) -> Iterator[Sink]:
    """`python -m peers twilio` in its own process, taking TWILIO_SINK_SID / TWILIO_SINK_TOKEN; its
    stats count accepted texts by their StatusCallback's `d` (the delivery's dedup key)."""
    with _peer_process("twilio", ["--sid", TWILIO_SINK_SID, "--token", TWILIO_SINK_TOKEN], delay) as sink:
        yield sink


@contextmanager
def discord_sink(*, limit: int = 5, window: float = 2.0, delay: float = 0.0) -> Iterator[Sink]:
    """`python -m peers discord` in its own process: each webhook `limit` requests per `window` seconds;
    its stats count accepted messages by their embed's link and the requests past a limit."""
    with _peer_process("discord", ["--limit", str(limit), "--window", str(window)], delay) as sink:
        yield sink


@contextmanager
def webpush_sink(*, delay: float = 0.0) -> Iterator[Sink]:
    """`python -m peers webpush` in its own process: `POST {url}/_subscribe` makes subscriptions on it;
    its stats count accepted pushes by their payload's listing id and the subscription."""
    with _peer_process("webpush", [], delay) as sink:
        yield sink


# --- the Celery worker ----------------------------------------------------------------------------


def database_url(settings_dict: dict | None = None) -> str:
    """A DATABASE_URL naming the database this process uses (the test database inside a test)."""
    db = settings_dict or connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        name = str(db["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("another process cannot open an in-memory SQLite database; give it a file")
        return f"sqlite:///{Path(name).resolve()}"
    if db["ENGINE"].endswith("postgresql"):
        user = quote(db.get("USER") or "", safe="")
        password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
        credentials = f"{user}{password}@" if user else ""
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{credentials}{db.get('HOST') or ''}{port}/{quote(db['NAME'], safe='')}"
    raise RuntimeError(f"no DATABASE_URL for the {db['ENGINE']} engine")


def worker_env(sink_url: str, *, twilio_url: str = "", **extra: str) -> dict[str, str]:
    """The environment for a worker using this process's database and broker, emailing the Postmark
    sink at `sink_url` and, given `twilio_url` (a `twilio_sink`'s), texting through that one."""
    texting = {}
    if twilio_url:
        texting = {
            "TWILIO_ACCOUNT_SID": TWILIO_SINK_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_SINK_TOKEN,
            "TWILIO_PHONE_NUMBER": TWILIO_SINK_SENDER,
            "TWILIO_MESSAGING_SERVICE_SID": "",
            "TWILIO_API_URL": twilio_url.rstrip("/"),
        }
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dealalerts.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_BACKEND": POSTMARK_BACKEND,
        "ANYMAIL_POSTMARK_SERVER_TOKEN": SINK_TOKEN,
        # anymail joins "email", "messages/outbound"... to this, so it ends with "/".
        "ANYMAIL_POSTMARK_API_URL": sink_url.rstrip("/") + "/",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **texting,
        **extra,
    }


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no warm shutdown, nothing acked or settled."""
        _kill_group(self.process)

    def stop(self, timeout: float = 20) -> None:
        """A warm shutdown (SIGTERM: finish the current task), SIGKILL after `timeout` seconds."""
        _stop_group(self.process, timeout)

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-tail:] if self.log.exists() else ""


def start_worker(
    env: dict[str, str],
    *,
    queues: str = "notify,urgent",
    concurrency: int = 1,
    pool: str = "prefork",
    ready_timeout: float = 60,
    app: str = "dealalerts",
) -> Worker:
    """`celery -A <app> worker` in its own process group, returned once it says it is ready."""
    log = Path(tempfile.gettempdir()) / f"dealalerts-worker-{uuid.uuid4().hex[:8]}.log"
    command = [
        sys.executable, "-m", "celery", "-A", app, "worker",
        "-Q", queues, "--concurrency", str(concurrency), "--pool", pool,
        "--loglevel", "INFO", "--hostname", f"{log.stem}@%h",
        # No cluster chatter: start-up is faster and the filesystem broker needs no broadcast.
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(process, log)
    deadline = time.monotonic() + ready_timeout
    while " ready." not in worker.output(tail=100_000):
        if process.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise RuntimeError(f"the Celery worker did not start (exit code {process.poll()}):\n{worker.output()}")
        time.sleep(0.1)
    return worker


@contextmanager
def celery_worker(env: dict[str, str], **options) -> Iterator[Worker]:
    worker = start_worker(env, **options)
    try:
        yield worker
    finally:
        worker.stop()
        worker.log.unlink(missing_ok=True)


# --- the development web server -------------------------------------------------------------------


@dataclass
class WebServer:
    process: subprocess.Popen
    url: str  # no trailing slash
    log: Path

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-tail:] if self.log.exists() else ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def runserver(env: dict[str, str], *, ready_timeout: float = 60) -> Iterator[WebServer]:
    """`manage.py runserver --noreload`, as `make run`'s web process starts it, until the block ends."""
    port = _free_port()
    log = Path(tempfile.gettempdir()) / f"dealalerts-web-{uuid.uuid4().hex[:8]}.log"
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = WebServer(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"runserver did not start (exit code {process.poll()}):\n{server.output()}"
                    ) from None
                time.sleep(0.1)
        yield server
    finally:
        _stop_group(process, timeout=5)
        log.unlink(missing_ok=True)
