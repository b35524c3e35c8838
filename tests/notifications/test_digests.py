"""Digests: due at the user's local time, one per (user, period), top deals first, never empty."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.cache import cache

from notifications import digests
from notifications.events import DealEvent, RuleSource, notify
from notifications.models import Delivery, Digest, DigestSchedule, NotificationPreferences
from notifications.tasks import send_digests
from recommendations import services as recommendation_services
from tests.concurrency import run_twice_at_once
from tests.factories import ListingFactory, UserFactory
from tests.queries import count_queries
from tests.waiting import wait_until

# Wednesday 2026-11-25, 09:02 in Los Angeles (the factory's time zone).
TICK = datetime(2026, 11, 25, 17, 2, tzinfo=UTC)
EARLIER = TICK - timedelta(hours=3)


def digest_user(frequency="daily", **prefs):
    user = UserFactory()
    NotificationPreferences.objects.filter(user=user).update(frequency=frequency, **prefs)
    return user


def hold(user, *scores, when=EARLIER):
    for i, score in enumerate(scores):
        listing = ListingFactory(title=f"Deal {score}", deal_score=score)
        notify(
            [DealEvent(user.pk, listing.pk, RuleSource(i, f"Rule {i}", "in laptops"))],
            now=when,
        )


@pytest.mark.django_db
def test_daily_digest_sends_the_top_five_once_at_the_users_local_time(postmark_peer):
    user = digest_user()
    hold(user, 0.5, 0.85, 0.3, 0.7, 0.8, 0.6, 0.4)
    assert digests.send_due_digests(TICK - timedelta(minutes=5)).sent == 0  # 08:57 there: not yet

    run = digests.send_due_digests(TICK)
    assert (run.sent, run.empty) == (1, 0)
    [message] = postmark_peer.messages
    assert message["Subject"] == "Your daily deals: 7 deals, top pick Deal 0.85 — $300"
    text = message["TextBody"]
    assert [
        line.split(". ", 1)[1].split(" —")[0]
        for line in text.splitlines()
        if line[:2] in {"1.", "2.", "3.", "4.", "5."}
    ] == ["Deal 0.85", "Deal 0.8", "Deal 0.7", "Deal 0.6", "Deal 0.5"]
    assert "And 2 more" in text and "Daily digest at" not in text
    headers = {h["Name"]: h["Value"] for h in message["Headers"]}
    assert "List-Unsubscribe" in headers and headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}  # all seven covered
    digest = Digest.objects.get()
    assert (digest.status, digest.deal_count, digest.period_start.isoformat()) == ("sent", 7, "2026-11-25")

    assert digests.send_due_digests(TICK + timedelta(minutes=5)).sent == 0  # one per period
    assert len(postmark_peer.messages) == 1


@pytest.mark.django_db
def test_no_deals_no_email(postmark_peer):
    digest_user()
    run = digests.send_due_digests(TICK)
    assert (run.sent, run.empty) == (0, 1) and postmark_peer.requests == []
    assert digests.send_due_digests(TICK + timedelta(minutes=5)).due == 0  # this period is settled


@pytest.mark.django_db
def test_weekly_digest_waits_for_its_day_and_staff_can_move_the_default(postmark_peer):
    user = digest_user("weekly")
    hold(user, 0.7)
    assert digests.send_due_digests(TICK).due == 0  # Wednesday; weekly is Monday by default
    schedule = DigestSchedule.current()
    schedule.weekly_weekday, schedule.weekly_time = 2, time(8, 0)  # staff: Wednesdays at 08:00
    schedule.save()
    assert digests.send_due_digests(TICK).sent == 1
    assert Digest.objects.get(user=user).period == "weekly"


@pytest.mark.django_db
def test_own_digest_time_and_immediate_users_get_one_only_for_overflow(postmark_peer):
    early_bird = digest_user(digest_time=time(6, 30))
    hold(early_bird, 0.6)
    immediate, capped = UserFactory(), UserFactory()
    NotificationPreferences.objects.filter(user=capped).update(max_per_day=1)
    hold(immediate, 0.6)
    hold(capped, 0.6, 0.7)  # the second overflowed the cap: held for the digest
    run = digests.send_due_digests(TICK)
    assert run.sent == 2
    assert set(Digest.objects.values_list("user_id", flat=True)) == {early_bird.pk, capped.pk}


@pytest.mark.django_db
def test_a_failed_digest_is_retried_by_the_next_tick_and_sent_once(postmark_peer):
    user = digest_user()
    hold(user, 0.8)
    postmark_peer.fail_next("server_error")
    assert digests.send_due_digests(TICK).failed == 1
    assert Digest.objects.get().status == "failed"
    assert digests.send_due_digests(TICK + timedelta(minutes=5)).sent == 1
    digest = Digest.objects.get()
    assert (digest.status, digest.attempts) == ("sent", 2)
    assert postmark_peer.stats()["accepted"] == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_ticks_at_once_send_one_digest_per_user(postmark_peer):
    users = [digest_user() for _ in range(6)]
    for user in users:
        hold(user, 0.7, 0.8)
    runs = run_twice_at_once(lambda: digests.send_due_digests(TICK))
    assert sum(r.sent for r in runs) == 6 and postmark_peer.stats()["accepted"] == 6
    assert Digest.objects.count() == 6


@pytest.mark.django_db
def test_digest_queries_are_constant_per_batch(postmark_peer):
    ListingFactory(title="Standing desk")  # something every digest can recommend (its deals are alerted already)

    def queries(users: int) -> int:
        tick = TICK + timedelta(days=users)  # a fresh period each time
        for user in [digest_user() for _ in range(users)]:
            hold(user, 0.6, 0.8, when=tick - timedelta(hours=2))
        # Each count includes building the recommender's shared parts (a process keeps them a while).
        recommendation_services.forget_shared_parts()
        return count_queries(lambda: digests.send_due_digests(tick))

    assert queries(1) == queries(6)


@pytest.mark.django_db
def test_preview_page_shows_the_next_digest_without_sending(client, postmark_peer):
    user = digest_user()
    client.force_login(user)
    assert "Your next digest is empty so far" in client.get("/notifications/digest/preview/").content.decode()
    hold(user, 0.8, when=datetime.now(UTC))
    response = client.get("/notifications/digest/preview/")
    page = response.content.decode()
    assert "Your daily deals" in page and "Deal 0.8" in page
    assert Digest.objects.count() == 0 and postmark_peer.requests == []
    # The email's inline styles may apply here (the site's policy blocks them elsewhere); scripts still may not.
    policy = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";") if d.strip())
    assert "'unsafe-inline'" in policy["style-src"] and "'unsafe-inline'" not in policy["script-src"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_beat_tick_fans_batches_out_to_the_worker(celery_worker, postmark_peer):
    users = [digest_user(digest_time=time(0, 0)) for _ in range(3)]  # due all day
    for user in users:
        hold(user, 0.7, when=datetime.now(UTC) - timedelta(minutes=5))
    send_digests.delay()
    postmark_peer.wait_for_messages(3, timeout=30)
    assert wait_until(lambda: Digest.objects.filter(status="sent").count() == 3)
    assert send_digests() == {"due": 0}  # the next tick finds nothing more to send
    assert postmark_peer.stats()["accepted"] == 3


@pytest.mark.django_db
def test_the_digest_names_marketplaces_new_this_period(postmark_peer):
    cache.delete(digests.NEW_SOURCES_CACHE_KEY)
    ListingFactory(source="craigslist", first_seen_at=TICK - timedelta(days=40))  # known for long
    user = digest_user()
    hold(user, 0.7)  # a craigslist listing today
    ListingFactory(source="offerup", first_seen_at=TICK - timedelta(hours=5))  # new this day
    digests.send_due_digests(TICK)
    [message] = postmark_peer.messages
    assert "New marketplaces this day: OfferUp" in message["TextBody"]
    assert "We now watch OfferUp too." in message["HtmlBody"]


@pytest.mark.django_db
def test_no_digest_goes_to_an_address_that_is_not_confirmed(postmark_peer):
    user = digest_user()
    hold(user, 0.5, 0.7)
    type(user).objects.filter(pk=user.pk).update(email_confirmed_at=None)  # e.g. staff changed the address
    assert digests.send_due_digests(TICK).due == 0 and postmark_peer.requests == []
    type(user).objects.filter(pk=user.pk).update(email_confirmed_at=TICK)
    assert digests.send_due_digests(TICK).sent == 1


@pytest.mark.django_db
def test_the_digest_writes_prices_and_scores_as_the_pages_do(postmark_peer):
    user = digest_user()
    hold(user, 0.89, when=datetime.now(UTC))
    _, composed = digests.preview(user)
    # The factory's listing costs $300.00: whole dollars, no cents.
    assert "Deal 0.89 — $300 (deal score 89%)" in composed.text and "$300.00" not in composed.text
    assert "Deal score 89% · great deal" in composed.html and "Deal 0.89 — $300" in composed.subject
