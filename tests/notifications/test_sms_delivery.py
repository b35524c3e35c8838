"""Deals by SMS through a local Twilio peer: the text, the cap of five, Twilio's errors, and falling back."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from notifications.delivery import deliver
from notifications.events import DealEvent, RuleSource, notify
from notifications.models import (
    Address,
    ChannelDayCount,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationPreferences,
)
from tests.concurrency import run_at_once
from tests.factories import ListingFactory, sms_user
from tests.queries import count_queries

SOURCE = RuleSource(3, "Texts for ThinkPads", 'mentions "thinkpad"')


def deal_for(user, channels=("sms",), **listing) -> Notification:
    item = ListingFactory(**listing)
    [notification] = notify([DealEvent(user.pk, item.pk, SOURCE, channels=channels)])
    return notification


def sms_row(notification) -> Delivery:
    return Delivery.objects.get(notification=notification, channel="sms")


def email_row(notification) -> Delivery | None:
    return Delivery.objects.filter(notification=notification, channel="email").first()


@pytest.mark.django_db
def test_a_deal_goes_out_as_one_gsm7_text_with_a_tracked_link_and_a_status_callback(twilio_peer, settings):
    settings.SITE_URL = "https://deals.example.com"
    user = sms_user()
    notification = deal_for(user, title="Lenovo ThinkPad T14 “Gen 2” — 16 GB", price="300.00", deal_score=0.5)
    row = sms_row(notification)
    assert deliver([row.pk]).sent == 1
    [text] = twilio_peer.messages
    assert text["to"] == "+12015550123" and text["from"] == "+15005550006"
    head, link = text["body"].split("\n")
    assert head == 'Deal: Lenovo ThinkPad T14 "Gen 2" - 16 GB - $300'
    assert link.startswith("https://deals.example.com/notifications/c/") and text["num_segments"] == 1
    assert text["status_callback"] == f"https://deals.example.com/twilio/status/?d={row.dedup_key}"
    assert not text["validity_period"]  # only urgent texts expire
    row.refresh_from_db()
    assert row.status == "sent" and row.provider_id == text["sid"]


@pytest.mark.django_db
def test_an_urgent_text_expires_if_twilio_cannot_hand_it_over_in_time(twilio_peer, settings):
    settings.SMS_URGENT_VALIDITY_S = 600
    notification = deal_for(sms_user(), deal_score=0.97)
    deliver([sms_row(notification).pk])
    [text] = twilio_peer.messages
    assert text["validity_period"] == 600 and text["body"].startswith("Urgent deal: ")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_eight_texts_racing_at_the_cap_send_exactly_five_and_the_rest_fall_back_to_email(twilio_peer, postmark_peer):
    user = sms_user()
    now = timezone.now()
    notifications = [
        Notification.objects.create(
            user=user, listing=ListingFactory(), local_day=now.astimezone(user.time_zone).date(), created_at=now
        )
        for _ in range(8)
    ]
    rows = [
        Delivery.objects.create(notification=n, channel="sms", dedup_key=f"n{n.pk}-sms", created_at=now)
        for n in notifications
    ]
    ids = iter([r.pk for r in rows])
    run_at_once(lambda: deliver([next(ids)]), times=8)
    assert len(twilio_peer.messages) == 5
    statuses = sorted(Delivery.objects.filter(channel="sms").values_list("status", flat=True))
    assert statuses == ["sent"] * 5 + ["skipped"] * 3
    skipped = Delivery.objects.filter(channel="sms", status="skipped")
    assert {r.reason for r in skipped} == {"not by SMS: SMS daily limit of 5 reached"}
    fallbacks = Delivery.objects.filter(channel="email")
    assert fallbacks.count() == 3
    assert {f.reason for f in fallbacks} == {"sent by email instead: SMS daily limit of 5 reached"}


@pytest.mark.django_db
def test_notify_plans_the_sixth_deal_by_email_with_the_reason(twilio_peer):
    user = sms_user()
    for _ in range(5):
        deliver([sms_row(deal_for(user)).pk])
    sixth = deal_for(user)
    assert not Delivery.objects.filter(notification=sixth, channel="sms", status="pending").exists()
    assert "by email instead: SMS daily limit of 5 reached" in email_row(sixth).reason


@pytest.mark.django_db
def test_a_landline_disables_the_number_tells_the_user_once_and_falls_back_to_email(
    twilio_peer, postmark_peer, eager_tasks, django_capture_on_commit_callbacks
):
    user = sms_user(email="dana@example.com")
    notification = deal_for(user)
    twilio_peer.fail_next("not_mobile")
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver([sms_row(notification).pk]).failed == 1
    address = Address.objects.get(user=user, channel="sms")
    assert address.disabled_at is not None and address.disabled_reason.startswith("Twilio 21614")
    fallback = email_row(notification)
    assert fallback.reason.startswith("sent by email instead: SMS stopped working: Twilio 21614")
    subjects = [m["Subject"] for m in postmark_peer.messages]
    assert "We stopped sending SMS to +1 •••-•••-0123" in subjects  # the notice, once
    assert subjects.count("We stopped sending SMS to +1 •••-•••-0123") == 1

    later = deal_for(user, channels=("sms",))
    assert not Delivery.objects.filter(notification=later, channel="sms").exists()
    assert "SMS is off because your number cannot receive our texts" in email_row(later).reason
    client = Client()
    client.force_login(user)
    assert "Twilio 21614" in client.get("/notifications/").content.decode()


@pytest.mark.django_db
def test_twilio_saying_the_person_unsubscribed_turns_sms_off_for_them(twilio_peer, postmark_peer):
    user = sms_user()
    notification = deal_for(user)
    twilio_peer.fail_next("unsubscribed")
    assert deliver([sms_row(notification).pk]).failed == 1
    assert Address.objects.get(user=user, channel="sms").opted_out_at is not None
    assert email_row(notification).reason == "sent by email instead: you opted out of SMS"
    later = deal_for(user)  # until START, deals go by email, saying why
    assert "SMS is off because you replied STOP" in email_row(later).reason


@pytest.mark.django_db
def test_rate_limiting_and_server_errors_are_retried_honouring_retry_after(twilio_peer):
    user = sms_user()
    row = sms_row(deal_for(user))
    twilio_peer.fail_next("rate_limited", retry_after=120)
    assert deliver([row.pk]).retrying == 1
    row.refresh_from_db()
    assert row.status == "deferred" and (row.not_before - timezone.now()).total_seconds() > 100
    Delivery.objects.filter(pk=row.pk).update(not_before=timezone.now())
    twilio_peer.fail_next("server_error")
    assert deliver([row.pk]).retrying == 1
    Delivery.objects.filter(pk=row.pk).update(not_before=timezone.now())
    assert deliver([row.pk]).sent == 1
    assert len(twilio_peer.messages) == 1


@pytest.mark.django_db
def test_sms_only_for_urgent_deals_sends_ordinary_ones_by_email(twilio_peer):
    user = sms_user()
    NotificationPreferences.objects.filter(user=user).update(sms_urgent_only=True)
    ordinary = deal_for(user, channels=(), deal_score=0.4)
    assert sms_row(ordinary).status == DeliveryStatus.SKIPPED
    assert sms_row(ordinary).reason == "not by SMS: SMS is kept for urgent deals"
    urgent = deal_for(user, channels=(), deal_score=0.95)
    assert sms_row(urgent).status == DeliveryStatus.PENDING


@pytest.mark.django_db
def test_without_twilio_a_deal_text_is_printed_and_the_history_says_so_not_sent(settings, capsys):
    settings.TWILIO_ACCOUNT_SID = ""  # as in `make run`
    user = sms_user()
    notification = deal_for(user, title="Road bike", price="120.00")
    assert deliver([sms_row(notification).pk]).sent == 1
    printed = capsys.readouterr().out
    assert "SMS to +1 •••-•••-0123 (printed: no Twilio credentials set)" in printed
    assert "Deal: Road bike - $120" in printed
    client = Client()
    client.force_login(user)
    page = client.get("/notifications/").content.decode()
    assert "Printed at" in page and "no SMS provider is set up on this site" in page


@pytest.mark.django_db
def test_the_cap_counts_texts_by_the_day_they_leave_not_the_day_the_deal_came(twilio_peer, postmark_peer):
    user = sms_user()
    now = timezone.now()
    today = now.astimezone(user.time_zone).date()
    ChannelDayCount.objects.create(user=user, channel="sms", local_day=today, count=3)  # three went out this morning
    rows = []
    for _ in range(4):  # deals from last night, deferred past quiet hours to now
        n = Notification.objects.create(
            user=user, listing=ListingFactory(), local_day=today - timedelta(days=1), created_at=now
        )
        rows.append(Delivery.objects.create(notification=n, channel="sms", dedup_key=f"n{n.pk}-sms", created_at=now))
    result = deliver([r.pk for r in rows])
    assert (result.sent, result.skipped) == (2, 2) and len(twilio_peer.messages) == 2
    assert ChannelDayCount.objects.get(user=user, local_day=today).count == 5


@pytest.mark.django_db
def test_a_user_with_only_sms_gets_the_sixth_text_tomorrow_not_never(twilio_peer):
    user = sms_user()
    NotificationPreferences.objects.filter(user=user).update(channels=["sms"])
    today = timezone.now().astimezone(user.time_zone).date()
    ChannelDayCount.objects.create(user=user, channel="sms", local_day=today, count=5)
    notification = deal_for(user)
    row = sms_row(notification)
    assert row.status == "deferred" and row.reason.startswith("deferred to tomorrow")
    assert row.not_before.astimezone(user.time_zone).date() == today + timedelta(days=1)
    assert not Delivery.objects.filter(notification=notification, channel="email").exists()


@pytest.mark.django_db
def test_sms_delivery_queries_are_fixed_per_batch_and_two_per_text(twilio_peer):
    """Claim, load the rows, load the addresses; then per text: reserve a slot of the cap, record the send."""
    users = [sms_user(f"+1201555{i:04d}") for i in range(6)]
    one = [sms_row(deal_for(users[0])).pk]
    many = [sms_row(deal_for(users[i % 6])).pk for i in range(12)]
    fixed_and_one = count_queries(lambda: deliver(one))
    assert count_queries(lambda: deliver(many)) == fixed_and_one + 11 * 2
    assert fixed_and_one == 3 + 2 + 1  # and one write of the batch's events
