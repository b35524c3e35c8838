"""/metrics: the operations figures in Prometheus' text format, for a bearer token or staff."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from activity.models import Event, Kind
from tests.factories import UserFactory

from .brokers import folder_broker, publish, sent_minutes_ago  # noqa: F401

TOKEN = "s3cret-scrape-token"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("folder_broker")]


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def samples(body: bytes) -> dict[tuple, float]:
    """{(name, (label, value), …): value} from the exposition text, parsed as Prometheus would."""
    return {
        (s.name, *sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def test_the_right_token_reads_it(client, token):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert samples(response.content)[("dealalerts_broker_up",)] == 1


def test_a_wrong_token_is_forbidden_and_none_asks_for_one(client, token):
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-tokeN"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", headers={"Authorization": f"Token {token}"}).status_code == 401


def test_staff_may_read_it_with_their_session_and_a_shopper_may_not(client, staff_user, token):
    client.force_login(UserFactory())
    assert client.get("/metrics").status_code == 403
    client.force_login(staff_user)
    assert client.get("/metrics").status_code == 200


def test_without_a_token_configured_it_is_not_there_but_for_staff(client, staff_user, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404
    client.force_login(UserFactory())
    assert client.get("/metrics").status_code == 404
    client.force_login(staff_user)
    assert client.get("/metrics/").status_code == 200


def test_the_figures_are_the_pages(request, client, token, monkeypatch):
    with sent_minutes_ago(monkeypatch, 14):
        publish(request.getfixturevalue("folder_broker"), "notify", 4)
    now = timezone.now()
    Event.objects.bulk_create(
        [
            Event(kind=Kind.NOTIFICATION_FAILED, channel="sms", provider="twilio", detail="21610", created_at=now),
            Event(
                kind=Kind.NOTIFICATION_FAILED,
                channel="sms",
                provider="twilio",
                created_at=now - timedelta(hours=3),
            ),
            Event(kind=Kind.NOTIFICATION_RETRIED, channel="email", provider="postmark", created_at=now),
        ]
        + [Event(kind=Kind.NOTIFICATION_SENT, channel="email", created_at=now) for _ in range(50)]
        + [Event(kind=Kind.EMAIL_BOUNCED, created_at=now)]
    )

    found = samples(client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).content)

    assert found[("dealalerts_queue_depth", ("queue", "notify"))] == 4
    assert found[("dealalerts_queue_depth", ("queue", "urgent"))] == 0
    assert 14 * 60 <= found[("dealalerts_queue_oldest_age_seconds", ("queue", "notify"))] < 15 * 60
    failed = ("dealalerts_notification_trouble", ("channel", "sms"), ("kind", "failed"), ("provider", "twilio"))
    assert found[(*failed, ("window", "1h"))] == 1
    assert found[(*failed, ("window", "1d"))] == 2
    retried = ("dealalerts_notification_trouble", ("channel", "email"), ("kind", "retried"), ("provider", "postmark"))
    assert found[(*retried, ("window", "1h"))] == 1
    assert found[("dealalerts_email_rate", ("kind", "bounces"))] == pytest.approx(0.02)
    assert found[("dealalerts_email_rate_limit", ("kind", "bounces"))] == pytest.approx(0.02)
    assert found[("dealalerts_email_sends_7d",)] == 50
    assert found[("dealalerts_beat_late", ("name", "Roll up the event log for the metrics page"))] == 0
    # The queue, the failing provider and the bounce rate.
    assert found[("dealalerts_operations_warnings",)] == 3
