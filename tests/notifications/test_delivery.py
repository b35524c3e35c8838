"""Delivering the outbox by email to a local Postmark peer: content, claims, retries, failures, the sweep."""

import base64
import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from activity.models import Event, Kind
from dealalerts.celery import app as celery_app
from notifications.delivery import deliver, sweep
from notifications.events import DealEvent, RuleSource, notify
from notifications.models import Address, Delivery, DeliveryStatus
from notifications.policy import BACKOFF_BASE_S, MAX_ATTEMPTS
from notifications.tracking import unsubscribe_email
from tests.concurrency import run_twice_at_once
from tests.factories import ListingFactory, UserFactory
from tests.queries import count_queries


def queued(user=None, **listing) -> Delivery:
    user = user or UserFactory(email="dana@example.com")
    item = ListingFactory(**listing)
    source = RuleSource(7, "Cheap ThinkPads", "mentions “thinkpad”, $300 is at most $500")
    notify([DealEvent(user.pk, item.pk, source)])
    return Delivery.objects.get(notification__listing=item)


@pytest.mark.django_db
def test_a_deal_email_carries_the_deal_its_why_and_one_click_unsubscribe(postmark_peer, settings):
    settings.SITE_URL = "https://deals.example.com"
    delivery = queued(title="Lenovo ThinkPad T14", price="300.00", image_url="https://img.example.com/t14.jpg")
    result = deliver([delivery.pk])
    assert (result.claimed, result.sent) == (1, 1)

    [message] = postmark_peer.messages
    assert message["To"] == "dana@example.com"
    assert message["Subject"] == "New deal: Lenovo ThinkPad T14 — $300"
    assert "Cheap ThinkPads" in message["TextBody"] and "mentions “thinkpad”" in message["TextBody"]
    assert "Deal score 70%" in message["TextBody"]
    html = message["HtmlBody"]
    assert 'src="https://img.example.com/t14.jpg"' in html and "$300" in html
    assert 'style="' in html and "<style>" in html  # inlined, with @media kept for mobile clients
    headers = {h["Name"]: h["Value"] for h in message["Headers"]}
    assert headers["List-Unsubscribe"].startswith("<https://deals.example.com/notifications/unsubscribe/")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://deals.example.com/notifications/c/" in html  # the tracked link
    assert "https://deals.example.com/notifications/settings/" in html
    assert message["Metadata"]["dedup_key"] == delivery.dedup_key

    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1 and delivery.sent_at is not None
    uuid.UUID(delivery.provider_id)  # Postmark's MessageID, for matching its webhooks


@pytest.mark.django_db
def test_a_row_is_sent_once_however_often_it_is_delivered(postmark_peer):
    delivery = queued()
    assert deliver([delivery.pk]).sent == 1
    assert deliver([delivery.pk]).claimed == 0  # a retried task, or a second worker
    assert postmark_peer.stats()["accepted"] == 1


@pytest.mark.django_db
def test_rate_limiting_defers_the_row_honouring_retry_after(postmark_peer):
    delivery = queued()
    postmark_peer.fail_next("rate_limited", retry_after=120)
    before = timezone.now()
    assert deliver([delivery.pk]).retrying == 1
    delivery.refresh_from_db()
    assert delivery.status == "deferred" and "429" in delivery.last_error
    assert delivery.not_before >= before + timedelta(seconds=120)
    assert deliver([delivery.pk]).claimed == 0  # not due yet: it waits in the database

    postmark_peer.fail_next("server_error")
    Delivery.objects.filter(pk=delivery.pk).update(not_before=timezone.now())
    assert deliver([delivery.pk]).retrying == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.not_before >= timezone.now() + timedelta(seconds=BACKOFF_BASE_S * 2 - 5)  # backoff

    Delivery.objects.filter(pk=delivery.pk).update(not_before=timezone.now())
    assert deliver([delivery.pk]).sent == 1


@pytest.mark.django_db
def test_transient_errors_give_up_after_the_last_attempt(postmark_peer):
    delivery = queued()
    Delivery.objects.filter(pk=delivery.pk).update(attempts=MAX_ATTEMPTS - 1)
    postmark_peer.fail_next("server_error")
    assert deliver([delivery.pk]).failed == 1
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.last_error.startswith(f"gave up after {MAX_ATTEMPTS}")


@pytest.mark.django_db
def test_a_refused_address_fails_the_row_and_stops_email_to_it(postmark_peer):
    user = UserFactory()
    delivery = queued(user)
    postmark_peer.fail_next("inactive_recipient")
    assert deliver([delivery.pk]).failed == 1
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "refused" in delivery.last_error
    assert disabled_email(user).disabled_reason.startswith("recipient refused")

    later = queued(user)
    assert later.status == "skipped"  # email can no longer reach them
    assert postmark_peer.stats()["accepted"] == 0


@pytest.mark.django_db
def test_a_row_whose_user_turned_email_off_meanwhile_is_skipped(postmark_peer):
    user = UserFactory()
    delivery = queued(user)
    unsubscribe_email(user.pk)
    assert deliver([delivery.pk]).skipped == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reason) == ("skipped", "skipped: you turned email off")
    assert postmark_peer.requests == []


@pytest.mark.django_db
def test_the_sweep_sends_due_deferred_rows(postmark_peer, eager_tasks):
    delivery = queued()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DEFERRED, not_before=timezone.now() + timedelta(minutes=5)
    )
    assert sweep()["due"] == 0
    Delivery.objects.filter(pk=delivery.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    assert sweep()["due"] == 1
    delivery.refresh_from_db()
    assert delivery.status == "sent" and postmark_peer.stats()["accepted"] == 1


@pytest.mark.django_db
def test_the_sweep_settles_a_stuck_row_the_provider_has_and_resends_one_it_lacks(postmark_peer, eager_tasks, settings):
    settings.NOTIFICATIONS_SENDING_TIMEOUT = 60
    sent_before_crash, lost_in_crash = queued(), queued(UserFactory())
    assert deliver([sent_before_crash.pk]).sent == 1
    long_ago = timezone.now() - timedelta(minutes=5)
    # Both as a worker killed mid-send would leave them: claimed, still "sending".
    Delivery.objects.filter(pk__in=[sent_before_crash.pk, lost_in_crash.pk]).update(
        status=DeliveryStatus.SENDING, claimed_at=long_ago, attempts=1
    )
    Event.objects.all().delete()  # the crash took the settling, and its event, with it
    result = sweep()
    assert (result["stuck_already_sent"], result["stuck_resent"]) == (1, 1)
    assert postmark_peer.stats()["by_key"] == {sent_before_crash.dedup_key: 1, lost_in_crash.dedup_key: 1}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    sent = Event.objects.filter(kind=Kind.NOTIFICATION_SENT)  # each logged once: found by the sweep, or re-sent
    assert sorted(sent.values_list("ref_id", flat=True)) == sorted(
        [sent_before_crash.notification_id, lost_in_crash.notification_id]
    )
    assert set(sent.values_list("provider", flat=True)) == {"postmark"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_delivering_the_same_rows_send_each_once(postmark_peer):
    users = [UserFactory() for _ in range(4)]
    ids = [queued(users[i % 4]).pk for i in range(40)]
    results = run_twice_at_once(lambda: deliver(ids))
    assert sum(r.sent for r in results) == 40
    by_key = postmark_peer.stats()["by_key"]
    assert len(by_key) == 40 and set(by_key.values()) == {1}


@pytest.mark.django_db
def test_the_esp_webhook_records_events_and_a_bounce_stops_email(client, postmark_peer, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "hook:s3cret"}
    user = UserFactory()
    delivery = queued(user)
    deliver([delivery.pk])
    delivery.refresh_from_db()
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"hook:s3cret").decode()}
    url = "/anymail/postmark/tracking/"
    delivered = {
        "RecordType": "Delivery",
        "MessageID": delivery.provider_id,
        "Recipient": user.email,
        "DeliveredAt": "2026-11-25T10:00:00Z",
        "Metadata": {"dedup_key": delivery.dedup_key},
    }
    assert client.post(url, json.dumps(delivered), content_type="application/json").status_code == 401  # no auth
    assert client.post(url, json.dumps(delivered), content_type="application/json", **auth).status_code == 200
    delivery.refresh_from_db()
    assert delivery.provider_event == "delivered"

    bounce = {
        "RecordType": "Bounce",
        "ID": 42,
        "Type": "HardBounce",
        "TypeCode": 1,
        "MessageID": delivery.provider_id,
        "Email": user.email,
        "BouncedAt": "2026-11-25T10:05:00Z",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Metadata": {"dedup_key": delivery.dedup_key, "user_id": str(user.pk)},
    }
    assert client.post(url, json.dumps(bounce), content_type="application/json", **auth).status_code == 200
    assert disabled_email(user).disabled_reason.startswith("bounced")
    client.force_login(user)
    page = client.get("/notifications/settings/").content.decode()
    assert "Email is off" in page


@pytest.mark.django_db
def test_delivery_queries_do_not_grow_with_the_batch(postmark_peer):
    """Claim, load, one record of the sends: the same for one row as for forty (Postmark can be asked)."""
    users = [UserFactory() for _ in range(8)]  # at most six each: under the daily cap
    one = [queued(users[0]).pk]
    many = [queued(users[i % 8]).pk for i in range(40)]
    assert count_queries(lambda: deliver(one)) == count_queries(lambda: deliver(many))
    assert postmark_peer.stats()["accepted"] == 41


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_urgent_deliveries_go_to_their_own_queue():
    with celery_app.connection_for_write() as conn:
        for queue in ("notify", "urgent"):
            conn.default_channel.queue_purge(queue)
    user = UserFactory()
    source = RuleSource(1, "Any", "")
    notify([DealEvent(user.pk, ListingFactory(deal_score=0.95).pk, source)])  # urgent: score 0.9 or more
    notify([DealEvent(user.pk, ListingFactory(deal_score=0.5).pk, source)])
    with celery_app.connection_for_read() as conn:
        waiting = {
            queue: conn.default_channel.queue_declare(queue, passive=True).message_count
            for queue in ("urgent", "notify")
        }
    assert waiting == {"urgent": 1, "notify": 1}


def disabled_email(user) -> Address:
    return Address.objects.get(user=user, channel="email", disabled_at__isnull=False)


@pytest.mark.django_db
def test_a_deal_message_carries_the_facts_a_card_shows():
    from notifications.content import deal_message

    user = UserFactory()
    item = ListingFactory(title="Trek road bike", price="420.00", deal_score=0.82, condition="good", zip_code="94103")
    item.deal_score_explanation = "18% under similar bikes"
    item.save()
    source = RuleSource(4, "Road bikes", "$420 is at most $500")
    [notification] = notify([DealEvent(user.pk, item.pk, source)])
    message = deal_message(notification, "email", "n1-email")
    facts = dict(message.facts)
    assert facts["Price"] == "$420" and facts["Deal score"] == "82%: 18% under similar bikes"
    assert facts["Condition"] == "Good" and facts["Where"] == "ZIP 94103"
    assert facts["Why"] == "“Road bikes”: $420 is at most $500"
    assert message.footer.endswith("· alert: Road bikes") and message.topic == f"listing-{item.pk}"
    assert message.score == 0.82 and message.timestamp == notification.created_at
