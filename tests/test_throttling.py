"""API throttles: keyed on the connecting address unless we say how many proxies to trust, and
ingest on its own budget (THROTTLE_INGEST). conftest makes rates generous; these set their own."""

import json
import random
import uuid

import pytest
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import raw_listing

pytestmark = pytest.mark.django_db


def a_new_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture
def tight_rates(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": "1000/min", "ingest": "2/min"})
    # Start from no history: the cache outlives tests, and user ids repeat.
    monkeypatch.setattr(SimpleRateThrottle, "cache_format", f"throttle-{uuid.uuid4().hex}_%(scope)s_%(ident)s")


def test_a_new_x_forwarded_for_each_time_does_not_dodge_the_anonymous_throttle(api_client, tight_rates):
    address = a_new_address()
    statuses = [
        api_client.get("/api/categories", REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=a_new_address()).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 429, 429]


def test_behind_trusted_proxies_each_forwarded_client_has_its_own_budget(api_client, tight_rates, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy, client_a, client_b = a_new_address(), a_new_address(), a_new_address()
    statuses_a = [
        api_client.get("/api/categories", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"9.9.9.{n}, {client_a}").status_code
        for n in range(3)
    ]
    assert statuses_a == [200, 200, 429]
    assert api_client.get("/api/categories", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=client_b).status_code == 200


def test_ingest_has_its_own_rate(staff_api, tight_rates):
    statuses = []
    for n in range(4):
        body = json.dumps([raw_listing(external_id=str(n))])
        statuses.append(staff_api.post("/api/listings", body, content_type="application/json").status_code)
    assert statuses == [200, 200, 429, 429]
    assert staff_api.get("/api/listings").status_code == 200  # reading is on the user budget
