"""Email confirmation: sign-up sends one link, the link confirms, bad or old links explain, resends are limited."""

import importlib
import re
import smtplib
import socket
import threading
import time
from datetime import timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.test import Client
from kombu.exceptions import OperationalError

from accounts import confirmation, tasks
from accounts.models import User
from tests.factories import UserFactory
from tests.waiting import wait_until

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


def test_signup_sends_one_email_with_a_link_after_the_user_is_committed(
    client, django_capture_on_commit_callbacks, eager_tasks
):
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
    user = User.objects.get()
    assert user.email_confirmed_at is None
    assert confirmation.resend(user).wait  # the sign-up's link counts as the minute's one


def test_the_link_confirms_and_following_it_again_changes_nothing(client):
    user = UserFactory(email_confirmed_at=None)
    assert confirmation.send_email(user.pk) is True
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


def test_an_expired_link_offers_a_new_one_that_works(client, eager_tasks):
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
    assert f"We are sending a new link to {user.email}" in resent.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    assert client.get(path_of(link_in(mail.outbox[0]))).status_code == 200
    user.refresh_from_db()
    assert user.email_confirmed_at is not None


def test_resend_is_limited_to_one_a_minute_and_five_a_day_and_says_when_to_try_again(eager_tasks):
    user = UserFactory(email_confirmed_at=None, time_zone="UTC")
    client = Client()
    client.force_login(user)
    response = client.post("/accounts/confirm-email/resend/", {"next": "/notifications/settings/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/notifications/settings/"
    assert "We are sending a new link" in response.content.decode() and len(mail.outbox) == 1
    again = client.post("/accounts/confirm-email/resend/", {"next": "/accounts/profile/"}, follow=True)
    assert re.search(r"You can ask for another one in \d+ seconds", again.content.decode())
    assert len(mail.outbox) == 1
    assert client.post("/accounts/confirm-email/resend/", {"next": "https://evil.example/"}).url == "/accounts/profile/"


def test_the_limits_count_requests_one_a_minute_and_five_a_day(monkeypatch):
    from django.utils import timezone

    queued = []
    monkeypatch.setattr(confirmation, "_enqueue", queued.append)
    user = UserFactory(email_confirmed_at=None, time_zone="UTC")
    start = timezone.now()
    assert confirmation.resend(user, now=start).sent
    soon = confirmation.resend(user, now=start + timedelta(seconds=20))
    assert (soon.sent, soon.wait, soon.wait_text) == (False, timedelta(seconds=40), "in 40 seconds")
    cache.delete(confirmation._minute_key(user.pk))  # as if the minute had passed
    for _ in range(4):
        assert confirmation.resend(user, now=start + timedelta(hours=1)).sent
        cache.delete(confirmation._minute_key(user.pk))
    sixth = confirmation.resend(user, now=start + timedelta(hours=5))
    assert not sixth.sent and sixth.wait == timedelta(hours=19)  # a day after the first request
    assert "You can ask for another one after" in sixth.message
    assert queued == [user.pk] * 5


def test_two_requests_at_once_queue_one_link(monkeypatch):
    """The check and the count are one cache operation, so a double click sends one link."""
    queued = []
    monkeypatch.setattr(confirmation, "_enqueue", queued.append)
    user = UserFactory(email_confirmed_at=None)
    barrier = threading.Barrier(2)
    results = []

    def ask() -> None:
        barrier.wait()
        results.append(confirmation.resend(user).sent)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True] and queued == [user.pk]


def test_a_request_that_could_not_be_queued_does_not_count(monkeypatch):
    user = UserFactory(email_confirmed_at=None)

    def broker_down(user_id):
        raise OperationalError("broker unreachable")

    monkeypatch.setattr(confirmation, "_enqueue", broker_down)
    with pytest.raises(OperationalError):
        confirmation.resend(user)
    monkeypatch.setattr(confirmation, "_enqueue", lambda user_id: None)
    assert confirmation.resend(user).sent


def test_the_api_resend_answers_429_with_retry_after(api_client, eager_tasks):
    user = UserFactory(email_confirmed_at=None)
    api_client.force_authenticate(user)
    first = api_client.post("/api/auth/confirm-email/resend")
    assert first.status_code == 202 and first.json() == {"email": user.email, "confirmed": False}
    second = api_client.post("/api/auth/confirm-email/resend")
    assert second.status_code == 429 and 0 < int(second["Retry-After"]) <= 60
    assert re.search(r"You can ask for another one in \d+ seconds", second.json()["detail"])
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


def test_a_new_address_set_in_admin_needs_confirming_again_and_is_sent_a_link(
    admin_client, eager_tasks, django_capture_on_commit_callbacks
):
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
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert (user.email, user.email_confirmed_at) == ("after@example.com", None)
    [message] = mail.outbox
    assert message.to == ["after@example.com"]
    with django_capture_on_commit_callbacks(execute=True):  # other edits send nothing more
        admin_client.post(f"/admin/accounts/user/{user.pk}/change/", {**form, "first_name": "Dana"})
    assert len(mail.outbox) == 1


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


@pytest.fixture
def mail_server_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2


def test_signup_succeeds_and_signs_in_when_the_mail_server_is_down(
    client, mail_server_down, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/signup/", SIGNUP, follow=True)
    assert response.status_code == 200
    assert "We are sending a link to new@example.com" in response.content.decode()
    assert response.context["user"].email == "new@example.com"  # signed in
    assert client.get("/accounts/profile/").status_code == 200


def test_resend_pages_and_api_do_not_fail_when_the_mail_server_is_down(mail_server_down, eager_tasks, api_client):
    user = UserFactory(email_confirmed_at=None)
    client = Client()
    client.force_login(user)
    response = client.post("/accounts/confirm-email/resend/", follow=True)
    assert response.status_code == 200 and "We are sending a new link" in response.content.decode()
    cache.clear()
    api_client.force_authenticate(user)
    assert api_client.post("/api/auth/confirm-email/resend").status_code == 202


class FlakyBackend(LocmemBackend):
    """Refuses to connect the first `failures` times, then delivers to `mail.outbox`."""

    failures = 0
    attempts = 0

    def send_messages(self, messages):
        FlakyBackend.attempts += 1
        if FlakyBackend.attempts <= FlakyBackend.failures:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def flaky_mail(settings, monkeypatch):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    monkeypatch.setattr(FlakyBackend, "attempts", 0)
    return FlakyBackend


def test_the_email_task_retries_a_mail_server_hiccup(flaky_mail, eager_tasks, monkeypatch):
    monkeypatch.setattr(flaky_mail, "failures", 2)
    user = UserFactory(email_confirmed_at=None)
    result = tasks.send_confirmation_email.delay(user.pk)
    assert result.successful() and flaky_mail.attempts == 3
    [message] = mail.outbox
    assert message.to == [user.email] and link_in(message)


def test_the_email_task_gives_up_on_a_refused_address_at_once(settings, eager_tasks, monkeypatch):
    calls = []

    def refuse(self, messages):
        calls.append(1)
        raise smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")})

    monkeypatch.setattr(LocmemBackend, "send_messages", refuse)
    user = UserFactory(email_confirmed_at=None)
    result = tasks.send_confirmation_email.delay(user.pk)
    assert isinstance(result.result, confirmation.EmailRefused) and calls == [1]


def test_the_email_task_sends_nothing_once_the_address_is_confirmed(eager_tasks):
    assert tasks.send_confirmation_email.delay(UserFactory().pk).result is False
    assert mail.outbox == []


def test_the_worker_emails_the_link_after_sign_up(celery_worker, client):
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302
    assert wait_until(lambda: len(mail.outbox) == 1)
    assert mail.outbox[0].to == ["new@example.com"]
    assert client.get(path_of(link_in(mail.outbox[0]))).status_code == 200
    assert User.objects.get().email_confirmed_at is not None


def test_an_old_link_for_a_confirmed_address_is_a_calm_page():
    user = UserFactory()
    old = time.time() - confirmation.LINK_MAX_AGE.total_seconds() - 60
    with mock.patch("django.core.signing.time.time", return_value=old):
        token = confirmation.make_token(user)
    response = Client().get(f"/accounts/confirm-email/{token}/")
    assert response.status_code == 200 and "Already confirmed" in response.content.decode()


def test_a_user_added_in_admin_is_sent_a_link(admin_client, eager_tasks, django_capture_on_commit_callbacks):
    form = {"email": "added@example.com", "password1": "correct-horse-9x", "password2": "correct-horse-9x"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/accounts/user/add/", {**form, "time_zone": "UTC"})
    assert response.status_code == 302
    added = User.objects.get(email="added@example.com")
    assert added.email_confirmed_at is None
    [message] = mail.outbox
    assert message.to == ["added@example.com"] and link_in(message)
    assert confirmation.resend(added).sent  # a link staff sent does not use up the user's own


def test_admin_actions_send_a_link_or_mark_the_address_confirmed(
    admin_client, eager_tasks, django_capture_on_commit_callbacks
):
    waiting, done = UserFactory(email_confirmed_at=None), UserFactory()
    changelist = "/admin/accounts/user/"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            changelist, {"action": "send_confirmation_email", "_selected_action": [waiting.pk, done.pk]}, follow=True
        )
    assert "Sending a confirmation link to 1 user(s); 1 already confirmed." in response.content.decode()
    assert [m.to for m in mail.outbox] == [[waiting.email]]
    admin_client.post(changelist, {"action": "mark_email_confirmed", "_selected_action": [waiting.pk]})
    waiting.refresh_from_db()
    assert waiting.email_confirmed_at is not None


def test_signup_succeeds_when_the_broker_is_down(client, monkeypatch, django_capture_on_commit_callbacks):
    def broker_down(user_id):
        raise OperationalError("broker unreachable")

    monkeypatch.setattr(confirmation, "_enqueue", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302
    assert client.get("/accounts/profile/").status_code == 200  # signed in; "Resend" is there for later
