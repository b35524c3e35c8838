"""The operations page and its polled panel: staff only, and they show what is wrong."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from activity.models import Event, Kind
from tests.factories import UserFactory
from tests.queries import count_queries

from .brokers import folder_broker, publish, redis_broker, sent_minutes_ago  # noqa: F401

PAGES = [reverse("metrics:operations"), reverse("metrics:operations-panel")]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("folder_broker")]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_sign_in_first_a_shopper_is_refused_staff_see_it(client, staff_user, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403
    client.force_login(staff_user)
    assert client.get(url).status_code == 200


def test_the_page_polls_its_panel_every_ten_seconds(client, staff_user):
    client.force_login(staff_user)
    page = client.get(reverse("metrics:operations")).content.decode()
    assert 'hx-get="/staff/operations/panel/" hx-trigger="every 10s" hx-swap="outerHTML"' in page
    assert "<!doctype html>" in page and "Nothing looks wrong." in page

    panel = client.get(reverse("metrics:operations-panel"), headers={"HX-Request": "true"})
    assert panel["Cache-Control"] == "no-store"
    body = panel.content.decode()
    assert body.startswith('<div id="operations"') and "<!doctype" not in body
    assert 'hx-trigger="every 10s"' in body  # the swapped-in panel keeps polling


@pytest.mark.parametrize("broker", ["redis_broker", "folder_broker"])
def test_a_backed_up_queue_shows_at_the_top_with_its_depth_and_age(request, client, staff_user, monkeypatch, broker):
    connection = request.getfixturevalue(broker)
    with sent_minutes_ago(monkeypatch, 14):
        publish(connection, "notify", 3)
    client.force_login(staff_user)

    page = client.get(reverse("metrics:operations-panel")).content.decode()

    assert "<li>notify queue: 3 waiting, oldest 14 min</li>" in page
    assert '<th scope="row">notify</th><td>3</td><td>14 min</td>' in page
    assert "Broker: redis." in page if broker == "redis_broker" else "Broker: embedded (a folder)." in page


def test_a_failing_provider_shows_with_its_last_error(client, staff_user):
    now = timezone.now()
    for minutes, detail in ((50, "Twilio 30003: unreachable handset"), (3, "Twilio 21610: the number opted out")):
        Event.objects.create(
            kind=Kind.NOTIFICATION_FAILED,
            channel="sms",
            provider="twilio",
            detail=detail,
            created_at=now - timedelta(minutes=minutes),
        )
    Event.objects.create(kind=Kind.NOTIFICATION_FELL_BACK, channel="sms", provider="twilio", created_at=now)
    client.force_login(staff_user)

    page = client.get(reverse("metrics:operations")).content.decode()

    assert "sms via twilio: 2 failed in the last hour; last error: Twilio 21610: the number opted out" in page
    assert '<th scope="row">sms / twilio</th>\n          <td>2 / 2</td><td>0 / 0</td><td>1 / 1</td>' in page
    assert "Twilio 21610: the number opted out</td>" in page
    assert "Nothing looks wrong." not in page


def test_a_late_beat_schedule_is_named(client, staff_user):
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.create(
        name="Roll up, stalled",
        task="metrics.roll_up",
        interval=every_minute,
        last_run_at=timezone.now() - timedelta(minutes=40),
    )
    client.force_login(staff_user)

    page = client.get(reverse("metrics:operations")).content.decode()

    assert "beat schedule Roll up, stalled (every minute) is late: last ran 40 min ago" in page
    assert '<tr class="ops-late"><th scope="row">Roll up, stalled<span' in page
    assert "40\xa0minutes ago: <strong>late</strong>" in page


def test_email_warnings_name_the_rate_and_the_limit(client, staff_user):
    now = timezone.now()
    Event.objects.bulk_create(
        [Event(kind=Kind.NOTIFICATION_SENT, channel="email", created_at=now) for _ in range(99)]
        + [Event(kind=Kind.DIGEST_SENT, channel="email", created_at=now)]
        + [Event(kind=Kind.EMAIL_BOUNCED, created_at=now)]
    )
    client.force_login(staff_user)

    page = client.get(reverse("metrics:operations")).content.decode()

    assert "email bounces: 1.00% of 100 sends in 7 days, nearing the 2.0% limit ESPs enforce" in page
    assert "Bounces: 1.00%</strong> (1 of 100 sends; ESPs act at 2%)" in page
    assert "Complaints: 0.00%</strong>" in page


def test_the_page_makes_the_same_queries_as_events_grow(client, staff_user):
    client.force_login(staff_user)
    url = reverse("metrics:operations")
    client.get(url)  # the session and user, cached from here on as for any request
    few = count_queries(lambda: client.get(url))
    Event.objects.bulk_create(
        [Event(kind=Kind.NOTIFICATION_FAILED, channel="sms", provider=f"p{i}", detail="x") for i in range(20)]
    )
    assert count_queries(lambda: client.get(url)) == few


def test_bad_methods_are_refused(client, staff_user):
    client.force_login(staff_user)
    assert client.post(reverse("metrics:operations-panel")).status_code == 405
