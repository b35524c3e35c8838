"""Shared fixtures.

Categories and beat schedules come from data migrations. A test that needs
`transactional_db` (a live server, a Celery worker thread) must also request
`django_db_serialized_rollback`, or its teardown flush removes them for the
tests that follow.
"""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from .factories import UserFactory


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
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
