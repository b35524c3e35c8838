"""Shared fixtures.

Categories and beat schedules come from data migrations. A transactional test
(a live server, a Celery worker thread) must ask for a serialized rollback, or its
teardown flush removes them for the tests that follow: with a marker,
`@pytest.mark.django_db(transaction=True, serialized_rollback=True)` (a marker
overrides fixtures); without one, request `django_db_serialized_rollback`.
"""

import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts import signin_limits
from dealalerts.celery import app as celery_app
from notifications import phone, test_sends
from recommendations import services as recommendation_services

from .factories import UserFactory
from .peer_fixtures import (  # noqa: F401
    _discord_peer_server,
    _http_peer_server,
    _postmark_peer_server,
    _smtp_peer_server,
    _twilio_peer_server,
    _vapid_keys,
    _webpush_peer_server,
    discord_peer,
    http_peer,
    postmark_peer,
    smtp_peer,
    twilio_peer,
    webpush_peer,
)


@pytest.fixture(scope="session", autouse=True)
def _disconnect_leftover_sessions(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end the sessions threads left open (live servers, workers).

    PostgreSQL refuses to drop a database others are connected to; pytest-django would only warn
    and leave it behind.
    """
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    return UserFactory(email="staff@example.com", is_staff=True)


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


@pytest.fixture(autouse=True)
def _generous_throttling(monkeypatch):
    """Throttling is on; tests get rates they cannot trip (test_throttling sets its own).

    DRF reads the rates into a class attribute at import, so we patch that, not settings.
    """
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"anon": "100000/min", "user": "100000/min", "ingest": "100000/min"}
    )


@pytest.fixture(autouse=True)
def _own_signin_counts(monkeypatch):
    """Each test counts sign-in attempts afresh: the cache outlives tests (and, with Redis, runs)."""
    monkeypatch.setattr(signin_limits, "KEY_PREFIX", f"signin-failures-test:{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def _own_phone_code_counts(monkeypatch):
    """Each test counts phone codes (and resend waits) afresh, as it does sign-ins."""
    monkeypatch.setattr(phone, "KEY_PREFIX", f"phone-codes-test:{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def _own_test_send_counts(monkeypatch):
    monkeypatch.setattr(test_sends, "KEY_PREFIX", f"test-sends-test:{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def _fresh_recommendation_pool():
    """Each test's listings make the pool: a process keeps it (and the similar-users model) a while."""
    recommendation_services.forget_shared_parts()
    yield
    recommendation_services.forget_shared_parts()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def eager_tasks():
    """Tasks the code under test enqueues run at once, in this thread (the real task code, no broker)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def celery_worker(transactional_db, django_db_serialized_rollback):
    """A real Celery worker in a thread, consuming the configured broker's queues.

    The queues are emptied first: a broker that outlives test runs (Redis in CI) may
    still hold messages from an earlier run.
    """
    with celery_app.connection_for_write() as conn:
        for queue in ("default", "ingest", "notify", "urgent"):
            conn.default_channel.queue_purge(queue)
    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        queues=["urgent", "default", "ingest", "notify"],
        shutdown_timeout=10,
    ) as worker:
        yield worker
