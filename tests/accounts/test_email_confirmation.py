"""Email confirmation: sign-up sends one link, the link confirms, bad or old links explain, resends are limited."""

import importlib
import re
import time
from datetime import timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from accounts import confirmation
from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SIGNUP = {"email": "new@example.com", "password": "correct-horse-battery-9", "time_zone": "UTC", "home_zip": ""}


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()  # the resend limits live in the cache
    yield
    cache.clear()


def link_in(message) -> str:
    return re.search(r"http://\S+/accounts/confirm-email/\S+/", message.body).group(0)


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_signup_sends_one_email_with_a_link_after_the_user_is_committed(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302
    assert mail.outbox == []  # nothing leaves before the account is committed
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.com"] and "Confirm" in message.subject
    assert link_in(message) in message.alternatives[0][0]  # the HTML twin carries the same link
    assert User.objects.get().email_confirmed_at is None


def test_the_link_confirms_and_following_it_again_changes_nothing(client):
    user = UserFactory(email_confirmed_at=None)
    confirmation.send(user)
    path = path_of(link_in(mail.outbox[0]))
    response = Client().get(path)  # no session needed: the signed token is the proof
    assert response.status_code == 200 and b"Email address confirmed" in response.content
    user.refresh_from_db()
    first = user.email_confirmed_at
    assert first is not None
    assert Client().get(path).status_code == 200
    user.refresh_from_db()
    assert user.email_confirmed_at == first


def test_a_damaged_link_is_a_clear_page_not_an_error(client):
    user = UserFactory(email_confirmed_at=None)
    token = confirmation.make_token(user)
    response = client.get(f"/accounts/confirm-email/{token[:-3]}xyz/")
    assert response.status_code == 400
    page = response.content.decode()
    assert "This link does not work" in page and "Log in to send a new link" in page
    client.force_login(user)
    assert "Send a new link" in client.get(f"/accounts/confirm-email/{token}x/").content.decode()
    user.refresh_from_db()
    assert user.email_confirmed_at is None


def test_a_link_for_an_address_the_user_no_longer_has_confirms_nothing(client):
    user = UserFactory(email_confirmed_at=None, email="old@example.com")
    token = confirmation.make_token(user)
    User.objects.filter(pk=user.pk).update(email="new@example.com")
    assert client.get(f"/accounts/confirm-email/{token}/").status_code == 400
    user.refresh_from_db()
    assert user.email_confirmed_at is None


def test_an_expired_link_offers_a_new_one_that_works(client):
    user = UserFactory(email_confirmed_at=None)
    old = time.time() - confirmation.LINK_MAX_AGE.total_seconds() - 60
    with mock.patch("django.core.signing.time.time", return_value=old):
        token = confirmation.make_token(user)
    response = client.get(f"/accounts/confirm-email/{token}/")
    assert response.status_code == 400
    assert "This link has expired" in response.content.decode() and "Send a new link" in response.content.decode()
    user.refresh_from_db()
    assert user.email_confirmed_at is None
    resent = client.post(f"/accounts/confirm-email/{token}/")  # the button: no session needed
    assert "We sent a new link" in resent.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    assert client.get(path_of(link_in(mail.outbox[0]))).status_code == 200
    user.refresh_from_db()
    assert user.email_confirmed_at is not None


def test_resend_is_limited_to_one_a_minute_and_five_a_day_and_says_when_to_try_again():
    user = UserFactory(email_confirmed_at=None, time_zone="UTC")
    client = Client()
    client.force_login(user)
    response = client.post("/accounts/confirm-email/resend/", {"next": "/notifications/settings/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/notifications/settings/"
    assert "We sent a new link" in response.content.decode() and len(mail.outbox) == 1
    again = client.post("/accounts/confirm-email/resend/", {"next": "/accounts/profile/"}, follow=True)
    assert re.search(r"You can ask for another one in \d+ seconds", again.content.decode())
    assert len(mail.outbox) == 1
    assert client.post("/accounts/confirm-email/resend/", {"next": "https://evil.example/"}).url == "/accounts/profile/"


def test_the_limits_as_a_pure_function():
    from django.utils import timezone

    now = timezone.now()
    wait = confirmation.wait_before_sending
    assert wait([], now) == timedelta(0)
    assert wait([now - timedelta(seconds=20)], now) == timedelta(seconds=40)
    assert wait([now - timedelta(seconds=61)], now) == timedelta(0)
    five = [now - timedelta(hours=h) for h in (1, 2, 3, 4, 5)]
    assert wait(five, now) == timedelta(hours=19)  # the oldest of the five leaves the day's window then
    assert wait(five[1:], now) == timedelta(0)


def test_the_api_resend_answers_429_with_retry_after(api_client):
    user = UserFactory(email_confirmed_at=None)
    api_client.force_authenticate(user)
    first = api_client.post("/api/auth/confirm-email/resend")
    assert first.status_code == 202 and first.json() == {"email": user.email, "confirmed": False}
    second = api_client.post("/api/auth/confirm-email/resend")
    assert second.status_code == 429 and 0 < int(second["Retry-After"]) <= 60
    assert len(mail.outbox) == 1
    confirmed = UserFactory()
    api_client.force_authenticate(confirmed)
    assert api_client.post("/api/auth/confirm-email/resend").json() == {"email": confirmed.email, "confirmed": True}
    assert len(mail.outbox) == 1


def test_profile_and_settings_say_confirm_your_address_with_a_resend_button():
    user = UserFactory(email_confirmed_at=None, email="dana@example.com")
    client = Client()
    client.force_login(user)
    for path in ("/accounts/profile/", "/notifications/settings/"):
        page = client.get(path).content.decode()
        assert "Confirm your email address to receive alerts" in page and "dana@example.com" in page
        assert "Resend confirmation email" in page
    confirmed = Client()
    confirmed.force_login(UserFactory())
    assert "Confirm your email address" not in confirmed.get("/notifications/settings/").content.decode()


def test_the_migration_counts_existing_users_as_confirmed_so_their_alerts_keep_coming():
    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0002_email_confirmed_at")
    earlier = UserFactory(email_confirmed_at=None)
    migration.confirm_existing_users(apps, None)
    earlier.refresh_from_db()
    assert earlier.email_confirmed_at == earlier.date_joined


def test_a_new_address_set_in_admin_needs_confirming_again(admin_client):
    user = UserFactory(email="before@example.com")
    form = {
        "email": "after@example.com",
        "first_name": "",
        "last_name": "",
        "time_zone": "America/Los_Angeles",
        "home_zip": "94103",
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "email_confirmed_at_0": user.email_confirmed_at.strftime("%Y-%m-%d"),
        "email_confirmed_at_1": user.email_confirmed_at.strftime("%H:%M:%S"),
    }
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert (user.email, user.email_confirmed_at) == ("after@example.com", None)
