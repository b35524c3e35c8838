"""Live matching, the periodic sweep, and exactly-once recording, against the real database and worker."""

from decimal import Decimal

import pytest

from alerts import services
from alerts.models import DealAlertMatch, DealAlertRule
from listings.tasks import refresh_price_benchmarks_task
from notifications.models import Notification
from tests.concurrency import run_twice_at_once
from tests.factories import ListingFactory, UserFactory, raw_listing
from tests.queries import count_queries
from tests.waiting import wait_until


def notified() -> list[tuple[int, int, list[int]]]:
    """Every notification the matches made: (user_id, listing_id, [rule ids it names])."""
    return [
        (n.user_id, n.listing_id, sorted(source["id"] for source in n.sources))
        for n in Notification.objects.order_by("id")
    ]


def make_rule(user, **fields) -> DealAlertRule:
    return services.create_rule(user, name=fields.pop("name", "rule"), **fields)


@pytest.mark.django_db
def test_matches_are_recorded_once_with_why_and_notified_once_per_listing(django_capture_on_commit_callbacks):
    dana, sam = UserFactory(), UserFactory()
    thinkpads = make_rule(dana, keywords=["thinkpad"], max_price=Decimal(500))
    laptops = make_rule(dana, categories=["computers"], min_deal_score=0.5)
    bikes = make_rule(sam, keywords=["bike"])
    t14 = ListingFactory(title="ThinkPad T14", price=Decimal(300), deal_score=0.8)
    ListingFactory(title="Unrelated lamp", category_id=t14.category_id, deal_score=0.1)

    with django_capture_on_commit_callbacks(execute=True):
        created = services.match_listings([t14.pk])

    assert sorted((m.rule_id, m.listing_id) for m in created) == [(thinkpads.pk, t14.pk), (laptops.pk, t14.pk)]
    assert DealAlertMatch.objects.get(rule=thinkpads).why == {
        "keyword": "thinkpad",
        "price": "$300 is at most $500",
        "distance_mi": None,
        "deal_score": 0.8,
    }
    assert notified() == [(dana.pk, t14.pk, sorted([thinkpads.pk, laptops.pk]))]  # one notification naming both
    thinkpads.refresh_from_db()
    bikes.refresh_from_db()
    assert thinkpads.last_triggered_at is not None and bikes.last_triggered_at is None

    with django_capture_on_commit_callbacks(execute=True):
        assert services.match_listings([t14.pk]) == []  # again: nothing new, nothing announced
    assert len(notified()) == 1 and DealAlertMatch.objects.count() == 2


@pytest.mark.django_db
def test_rule_changes_apply_to_the_next_listing_without_restart():
    user = UserFactory()
    first = ListingFactory(title="Road bike")
    services.match_listings([first.pk])  # builds and caches the index with no rules
    rule = make_rule(user, keywords=["bike"])
    second = ListingFactory(title="Road bike")
    assert [m.listing_id for m in services.match_listings([second.pk])] == [second.pk]

    services.set_enabled(rule, False)
    assert services.match_listings([ListingFactory(title="Kids bike").pk]) == []
    services.set_enabled(rule, True)
    services.update_rule(rule, keywords=["scooter"])
    assert services.match_listings([ListingFactory(title="Mountain bike").pk]) == []
    services.delete_rule(rule)
    assert services.match_listings([ListingFactory(title="Scooter").pk]) == []


@pytest.mark.django_db
def test_home_zip_change_moves_radius_rules():
    user = UserFactory(home_zip="94103")
    make_rule(user, keywords=["bike"], radius_mi=20)
    nyc = ListingFactory(title="Bike", zip_code="10001", latitude=40.7506, longitude=-73.9972)
    assert services.match_listings([nyc.pk]) == []
    user.home_zip = "10001"
    user.save()
    assert [m.listing_id for m in services.match_listings([nyc.pk])] == [nyc.pk]


@pytest.mark.django_db
def test_sweep_records_only_what_the_live_path_missed(django_capture_on_commit_callbacks):
    user = UserFactory()
    make_rule(user, keywords=["bike"])
    seen = ListingFactory(title="Road bike")
    missed = ListingFactory(title="Kids bike")
    with django_capture_on_commit_callbacks(execute=True):
        services.match_listings([seen.pk])  # the live path saw only one
        recorded = services.sweep_recent_listings(since=seen.last_seen_at.replace(year=2000))
    assert recorded == 1
    assert [listing_id for _, listing_id, _ in notified()] == [seen.pk, missed.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_recent_listings(since=seen.last_seen_at.replace(year=2000)) == 0
    assert len(notified()) == 2


@pytest.mark.django_db
def test_match_queries_are_constant_as_rules_and_listings_grow():
    user = UserFactory()

    def queries(rules: int, listings: int) -> int:
        for i in range(rules):
            make_rule(user, name=f"r{i}", keywords=["bike", f"word{i}"])
        ids = [ListingFactory(title=f"Bike {i}").pk for i in range(listings)]
        services.match_listings(ids[:1])  # warm the index for this rule set
        return count_queries(lambda: services.match_listings(ids))

    assert queries(1, 2) == queries(20, 40)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_on_the_same_batch_record_one_row_each():
    user = UserFactory()
    rules = [make_rule(user, name=f"r{i}", keywords=["bike"]) for i in range(5)]
    ids = [ListingFactory(title=f"Bike {i}").pk for i in range(20)]
    run_twice_at_once(lambda: services.match_listings(ids))

    assert DealAlertMatch.objects.count() == len(rules) * len(ids)
    # One notification per listing, naming each rule once.
    assert notified() == [(user.pk, listing_id, sorted(r.pk for r in rules)) for listing_id in ids]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_listing_posted_through_the_api_is_matched_by_the_worker(celery_worker, staff_api):
    shopper = UserFactory()
    rule = make_rule(shopper, keywords=["thinkpad"], max_price=Decimal(300))
    response = staff_api.post("/api/listings", [raw_listing(price="249.99")], format="json")
    assert response.status_code == 200, response.json()
    listing_id = response.json()["ids"]["created"][0]
    assert wait_until(notified), "the worker never matched the listing"
    assert notified() == [(shopper.pk, listing_id, [rule.pk])], "the worker never matched the listing"
    assert DealAlertMatch.objects.get().why["keyword"] == "thinkpad"


@pytest.mark.django_db
def test_a_listing_whose_score_rises_at_the_hourly_rescore_is_matched_then(eager_tasks):
    user = UserFactory()
    rule = make_rule(user, keywords=["thinkpad"], min_deal_score=0.6)
    for i in range(6):
        ListingFactory(title=f"ThinkPad X{i} laptop", price=Decimal(500), deal_score=0.5)
    stale = ListingFactory(title="ThinkPad T14 laptop", price=Decimal(300), deal_score=0.2, deal_score_is_computed=True)
    assert services.match_listings([stale.pk]) == []  # 0.2 is under the rule's minimum

    refresh_price_benchmarks_task()  # the hourly beat task: medians, then scores; $300 against $500 is 0.9

    stale.refresh_from_db()
    assert stale.deal_score == 0.9
    assert DealAlertMatch.objects.filter(rule=rule, listing=stale).exists()
    assert notified() == [(user.pk, stale.pk, [rule.pk])]
