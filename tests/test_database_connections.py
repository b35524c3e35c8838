"""The development server (`make run`'s web process) does not pile up database connections.

`manage.py runserver` serves every HTTP connection on a new thread, and Django keeps a
connection per thread; a connection kept past its request (`CONN_MAX_AGE` > 0) outlives the
thread that opened it, so ordinary traffic grew PostgreSQL's backends until it refused
more ("too many clients"). pytest-django's `live_server` closes every connection after
each request (Django's ThreadedWSGIServer.close_request), runserver does not: so the real
command, in a subprocess, against the test database.
"""

import os
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from peers.processes import database_url, runserver

REQUESTS = 300
THREADS = 6
# Each request a new TCP connection (so a new server thread), as browsers and API clients spread
# over time do; pages and API reads that all touch the database.
PATHS = ["/api/categories", "/api/listings", "/healthz", "/"]
# At most one connection per request in flight, plus the one runserver's start-up migration check keeps.
BOUND = THREADS + 2
APPLICATION_NAME = "dealalerts-runserver-test"


def _server_env() -> dict[str, str]:
    url = database_url()
    if connection.vendor == "postgresql":
        url += f"?application_name={APPLICATION_NAME}"  # tells the server's backends from everyone else's
    # The API's anonymous rate limit would answer 429 long before the database runs out.
    return {**os.environ, "DATABASE_URL": url, "DEBUG": "true", "THROTTLE_ANON": "100000/min"}


def _connections_counter(server_pid: int) -> Callable[[], int]:
    """How many database connections the server holds open now."""
    if connection.vendor == "postgresql":

        def backends() -> int:
            with connection.cursor() as cursor:
                # Statistics are a snapshot per transaction, and a test runs in one: take a new one.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = %s",
                    [APPLICATION_NAME],
                )
                return cursor.fetchone()[0]

        return backends

    database = Path(connection.settings_dict["NAME"]).resolve()

    def open_files() -> int:  # an SQLite connection holds the database file open
        fds = Path(f"/proc/{server_pid}/fd")
        return sum(1 for fd in fds.iterdir() if _target(fd) == database)

    return open_files


def _target(fd: Path) -> Path | None:
    try:
        return Path(os.readlink(fd))
    except OSError:  # closed while we looked
        return None


def _settled(count: Callable[[], int], grace_s: float = 3.0) -> int:
    """The count once the server's threads have finished closing: a response reaches us just before
    its thread closes the connection, and on a busy machine that thread may lag. A leaked connection
    never closes, so waiting a little cannot hide one."""
    deadline = time.monotonic() + grace_s
    seen = count()
    while seen > BOUND and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = count()
    return seen


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        return response.status


@pytest.mark.django_db
def test_runserver_keeps_database_connections_bounded_under_traffic():
    with runserver(_server_env()) as server:
        count = _connections_counter(server.process.pid)
        peak, done = 0, 0
        batch = THREADS * 2
        with ThreadPoolExecutor(THREADS) as pool:
            while done < REQUESTS:
                urls = [server.url + PATHS[(done + i) % len(PATHS)] for i in range(batch)]
                statuses = list(pool.map(_get, urls))
                done += batch
                assert set(statuses) == {200}, server.output()
                seen = _settled(count)
                peak = max(peak, seen)
                # Checked after every batch, so a leak fails here long before the server runs out.
                assert seen <= BOUND, f"{seen} database connections open after {done} requests"
        print(f"{done} requests, at most {peak} database connections open")  # the figure, with -s
