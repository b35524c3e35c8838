"""Brokers with a backed-up queue for the operations tests: real Redis and the embedded folder broker.

Nothing consumes these queues, so what is published stays put, as behind a stopped worker.
"""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from kombu import Connection, Exchange, Queue

import dealalerts.broker
import dealalerts.celery
from dealalerts.broker import folder_options
from dealalerts.celery import app as celery_app

TRANSPORT = "dealalerts.broker:Transport"


def redis_url() -> str:
    # The configured Redis, else a local one on its default port.
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@contextmanager
def sent_minutes_ago(monkeypatch: pytest.MonkeyPatch, minutes: float) -> Iterator[None]:
    """Publish as if `minutes` ago: the publisher's send stamp (Redis) and the file name clock (folder)."""
    with monkeypatch.context() as patch:
        patch.setattr(dealalerts.celery, "time", SimpleNamespace(time=lambda: time.time() - minutes * 60))
        patch.setattr(dealalerts.broker, "monotonic", lambda: time.monotonic() - minutes * 60)
        yield


def publish(connection: Connection, queue: str, count: int) -> None:
    """`count` delivery batches on `queue`, published as Celery does."""
    Queue(queue, Exchange(queue), routing_key=queue)(connection.default_channel).declare()
    for _ in range(count):
        celery_app.send_task("notifications.deliver_batch", args=[[0]], queue=queue, connection=connection)


@pytest.fixture
def redis_broker(monkeypatch) -> Iterator[Connection]:
    """The Celery app on Redis, its queues emptied before and after."""
    url = redis_url()
    monkeypatch.setattr(celery_app.conf, "broker_url", url)
    monkeypatch.setitem(celery_app.conf, "broker_transport", None)
    monkeypatch.setitem(celery_app.conf, "broker_transport_options", {})
    with Connection(url) as connection:
        for queue in ("urgent", "notify", "ingest", "default"):
            Queue(queue, Exchange(queue), routing_key=queue)(connection.default_channel).declare()
            connection.default_channel.queue_purge(queue)
        yield connection
        for queue in ("urgent", "notify", "ingest", "default"):
            connection.default_channel.queue_purge(queue)


@pytest.fixture
def folder_broker(monkeypatch, tmp_path) -> Iterator[Connection]:
    """The Celery app on the embedded broker of `make run`, in a folder of its own."""
    options = folder_options(tmp_path / "broker")
    monkeypatch.setattr(celery_app.conf, "broker_url", "filesystem://")
    monkeypatch.setitem(celery_app.conf, "broker_transport", TRANSPORT)
    monkeypatch.setitem(celery_app.conf, "broker_transport_options", options)
    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
        yield connection
