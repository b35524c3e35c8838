"""Sign-in limits: repeated failures are refused for a while, on the API, the page and the admin,
without letting a guesser elsewhere lock the real user out."""

import json
import random

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts import signin_limits
from accounts.signin_limits import Limit, wait_seconds
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EMAIL, PASSWORD = "victim@example.com", "correct-horse-battery"


def a_new_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture
def victim(db):
    return UserFactory(email=EMAIL)


def api_sign_in(client: APIClient, password: str, email: str = EMAIL, **extra):
    body = json.dumps({"email": email, "password": password})
    return client.post("/api/auth/token", body, content_type="application/json", **extra)


def page_sign_in(client: Client, password: str, email: str = EMAIL, **extra):
    return client.post("/accounts/login/", {"username": email, "password": password}, **extra)


def test_thirty_wrong_passwords_then_the_right_one_is_refused_on_the_api(api_client, victim):
    address = {"REMOTE_ADDR": a_new_address()}
    statuses = [api_sign_in(api_client, f"guess-{n}", **address).status_code for n in range(30)]
    assert statuses[:5] == [400] * 5
    assert set(statuses[5:]) == {429}

    response = api_sign_in(api_client, PASSWORD, **address)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 900
    assert "Too many failed sign-ins" in response.json()["detail"]


def test_thirty_wrong_passwords_then_the_right_one_is_refused_on_the_page(client, victim):
    address = {"REMOTE_ADDR": a_new_address()}
    for n in range(30):
        page_sign_in(client, f"guess-{n}", **address)

    response = page_sign_in(client, PASSWORD, **address)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 900
    assert "Too many failed sign-ins. Try again in" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_sign_in_obeys_the_same_limits(client):
    UserFactory(email=EMAIL, is_staff=True)
    address = {"REMOTE_ADDR": a_new_address()}
    for n in range(6):
        client.post("/admin/login/", {"username": EMAIL, "password": f"guess-{n}"}, **address)
    response = client.post("/admin/login/", {"username": EMAIL, "password": PASSWORD}, **address)
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_guesser_elsewhere_does_not_lock_the_user_out(api_client, victim):
    for n in range(10):
        api_sign_in(api_client, f"guess-{n}", REMOTE_ADDR="203.0.113.9")
    assert api_sign_in(api_client, PASSWORD, REMOTE_ADDR=a_new_address()).status_code == 200


def test_the_user_gets_in_once_the_window_has_passed(api_client, victim, monkeypatch):
    address = {"REMOTE_ADDR": a_new_address()}
    start = 1_800_000_000.0
    monkeypatch.setattr(signin_limits, "now", lambda: start)
    for n in range(10):
        api_sign_in(api_client, f"guess-{n}", **address)
    assert api_sign_in(api_client, PASSWORD, **address).status_code == 429

    monkeypatch.setattr(signin_limits, "now", lambda: start + 901)
    assert api_sign_in(api_client, PASSWORD, **address).status_code == 200


def test_successes_do_not_count_against_the_user(api_client, victim):
    address = {"REMOTE_ADDR": a_new_address()}
    for _ in range(3):
        for n in range(4):
            assert api_sign_in(api_client, f"typo-{n}", **address).status_code == 400
        assert api_sign_in(api_client, PASSWORD, **address).status_code == 200


def test_one_address_trying_many_accounts_is_refused(api_client, victim, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 8
    address = {"REMOTE_ADDR": a_new_address()}
    for n in range(8):
        assert api_sign_in(api_client, "guess", email=f"someone{n}@example.com", **address).status_code == 400
    assert api_sign_in(api_client, PASSWORD, **address).status_code == 429
    assert api_sign_in(api_client, PASSWORD, REMOTE_ADDR=a_new_address()).status_code == 200


def test_a_new_x_forwarded_for_each_time_does_not_reset_the_count(api_client, victim):
    address = a_new_address()
    for n in range(6):
        api_sign_in(api_client, f"guess-{n}", REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=a_new_address())
    response = api_sign_in(api_client, PASSWORD, REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=a_new_address())
    assert response.status_code == 429


def test_behind_one_proxy_the_client_is_the_last_forwarded_address(api_client, victim, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy, guesser = a_new_address(), a_new_address()
    for n in range(6):
        api_sign_in(api_client, f"guess-{n}", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {guesser}")
    assert api_sign_in(api_client, PASSWORD, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=guesser).status_code == 429
    user_address = a_new_address()
    assert api_sign_in(api_client, PASSWORD, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=user_address).status_code == 200


def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_the_limit(victim):
    from concurrent.futures import ThreadPoolExecutor

    from django.test import RequestFactory

    request = RequestFactory().post("/api/auth/token", REMOTE_ADDR=a_new_address())

    def guess(n: int) -> str:
        try:
            return "wrong" if signin_limits.authenticate_limited(request, EMAIL, f"guess-{n}") is None else "in"
        except signin_limits.SignInRefused:
            return "refused"
        finally:
            connection.close()  # each thread's own

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(guess, range(40)))
    assert outcomes.count("wrong") == 5
    assert outcomes.count("refused") == 35


@pytest.mark.parametrize(
    ("attempts", "now", "wait"),
    [(0, 1000.0, 0), (5, 1000.0, 0), (6, 1000.0, 800), (50, 1799.5, 1), (6, 1800.0, 900)],
)
def test_wait_seconds_runs_to_the_end_of_the_window(attempts, now, wait):
    assert wait_seconds(attempts, Limit(allowed=5, window_s=900), now) == wait


def test_a_request_without_a_remote_address_is_still_limited(victim):
    from django.test import RequestFactory

    request = RequestFactory().post("/api/auth/token")
    del request.META["REMOTE_ADDR"]
    for n in range(5):
        assert signin_limits.authenticate_limited(request, EMAIL, f"guess-{n}") is None
    with pytest.raises(signin_limits.SignInRefused):
        signin_limits.authenticate_limited(request, EMAIL, PASSWORD)
