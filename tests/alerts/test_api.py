from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import DealAlertRule
from alerts.services import MAX_RULES_PER_USER
from tests.factories import ListingFactory, UserFactory
from tests.queries import count_queries

pytestmark = pytest.mark.django_db

ROADMAP_EXAMPLE = {
    "name": "Budget Gaming PC",
    "keywords": ["gaming", "pc"],
    "exclude_keywords": ["mac"],
    "min_price": 200,
    "max_price": 800,
    "min_deal_score": 0.7,
    "notification_channels": ["email", "push"],
    "enabled": True,
}


@pytest.fixture
def shopper(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def create(client, **overrides):
    return client.post("/api/deal-alert-rules", {**ROADMAP_EXAMPLE, **overrides}, format="json")


def test_create_list_get_patch_delete(shopper, user):
    response = create(shopper)
    assert response.status_code == 201, response.json()
    rule = response.json()
    assert {k: rule[k] for k in ("name", "keywords", "exclude_keywords", "min_price", "max_price", "enabled")} == {
        "name": "Budget Gaming PC",
        "keywords": ["gaming", "pc"],
        "exclude_keywords": ["mac"],
        "min_price": "200.00",
        "max_price": "800.00",
        "enabled": True,
    }
    assert {
        "id",
        "created_at",
        "updated_at",
        "last_triggered_at",
        "categories",
        "condition",
        "location",
        "radius_mi",
        "notification_channels",
    } <= rule.keys()

    assert [r["id"] for r in shopper.get("/api/deal-alert-rules").json()["results"]] == [rule["id"]]
    assert shopper.get(f"/api/deal-alert-rules/{rule['id']}").json()["name"] == "Budget Gaming PC"
    patched = shopper.patch(f"/api/deal-alert-rules/{rule['id']}/", {"max_price": 900}, format="json")
    assert patched.status_code == 200 and patched.json()["max_price"] == "900.00"
    assert shopper.delete(f"/api/deal-alert-rules/{rule['id']}").status_code == 204
    assert not DealAlertRule.objects.exists()


def test_pause_and_resume_are_idempotent_and_return_the_rule(shopper):
    rule_id = create(shopper).json()["id"]
    for _ in range(2):
        response = shopper.post(f"/api/deal-alert-rules/{rule_id}/pause")
        assert response.status_code == 200 and response.json()["enabled"] is False
    for _ in range(2):
        response = shopper.post(f"/api/deal-alert-rules/{rule_id}/resume/")
        assert response.status_code == 200 and response.json()["enabled"] is True


def test_backtest_counts_samples_and_estimates(shopper):
    now = timezone.now()
    for i in range(12):
        ListingFactory(
            title=f"Gaming PC build {i}", price=Decimal(500), deal_score=0.9, first_seen_at=now - timedelta(days=i)
        )
    ListingFactory(title="Gaming PC, Mac inside", price=Decimal(500), deal_score=0.9)  # excluded
    ListingFactory(title="Gaming PC", price=Decimal(500), deal_score=0.9, first_seen_at=now - timedelta(days=40))
    ListingFactory(title="Gaming PC", price=Decimal(100), deal_score=0.9)  # too cheap
    rule_id = create(shopper).json()["id"]

    body = shopper.post(f"/api/deal-alert-rules/{rule_id}/test").json()
    assert body["matching_count"] == 12
    assert body["window_days"] == 30
    assert body["per_day_estimate"] == 0.4
    assert len(body["sample_matches"]) == 10
    sample = body["sample_matches"][0]
    assert sample["listing"]["title"] == "Gaming PC build 0"  # newest first
    assert sample["why"]["keyword"] == "gaming"
    assert sample["explanation"].startswith("mentions “gaming”; $500 is within $200–$800")


def test_paused_rule_can_still_be_tested(shopper):
    ListingFactory(title="Gaming PC", price=Decimal(500), deal_score=0.9)
    rule_id = create(shopper, enabled=False).json()["id"]
    assert shopper.post(f"/api/deal-alert-rules/{rule_id}/test").json()["matching_count"] == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"keywords": "gaming"}, "keywords"),
        ({"keywords": ["gaming", ""]}, "keywords"),
        ({"keywords": [3]}, "keywords"),
        ({"keywords": ["!!!"]}, "keywords"),
        ({"keywords": [f"k{i}" for i in range(21)]}, "keywords"),
        ({"keywords": ["x" * 61]}, "keywords"),
        ({"exclude_keywords": [None]}, "exclude_keywords"),
        ({"categories": ["spaceships"]}, "categories"),
        ({"categories": "laptops"}, "categories"),
        ({"condition": "mint"}, "condition"),
        ({"min_price": -1}, "min_price"),
        ({"max_price": "cheap"}, "max_price"),
        ({"min_price": 900, "max_price": 800}, "max_price"),
        ({"min_deal_score": 1.5}, "min_deal_score"),
        ({"min_deal_score": -0.1}, "min_deal_score"),
        ({"location": "00000"}, "location"),
        ({"location": "94103", "radius_mi": 0}, "radius_mi"),
        ({"location": "94103", "radius_mi": 501}, "radius_mi"),
        ({"notification_channels": ["pigeon"]}, "notification_channels"),
        ({"notification_channels": ["email", "email"]}, "notification_channels"),
        ({"colour": "red"}, "colour"),
        ({"id": 5}, "id"),
        ({"enabled": "maybe"}, "enabled"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(shopper, overrides, field):
    response = create(shopper, **overrides)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not DealAlertRule.objects.exists()


def test_rule_without_any_criterion_is_400(shopper):
    response = shopper.post("/api/deal-alert-rules", {"name": "Everything", "exclude_keywords": ["mac"]}, format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_radius_without_location_needs_a_home_zip(api_client):
    homeless = UserFactory(home_zip="")
    api_client.force_authenticate(homeless)
    response = create(api_client, radius_mi=10)
    assert response.status_code == 400 and "radius_mi" in response.json()


def test_patch_is_judged_on_the_whole_rule(shopper):
    rule_id = create(shopper).json()["id"]
    response = shopper.patch(f"/api/deal-alert-rules/{rule_id}", {"min_price": 1000}, format="json")
    assert response.status_code == 400 and "max_price" in response.json()
    assert DealAlertRule.objects.get().min_price == Decimal(200)


def test_at_most_fifty_rules(shopper, user):
    DealAlertRule.objects.bulk_create(
        DealAlertRule(user=user, name=f"r{i}", keywords=["x"]) for i in range(MAX_RULES_PER_USER)
    )
    response = create(shopper)
    assert response.status_code == 400 and "non_field_errors" in response.json()
    assert DealAlertRule.objects.count() == MAX_RULES_PER_USER


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("patch", ""), ("delete", ""), ("post", "/test"), ("post", "/pause"), ("post", "/resume")],
)
def test_another_users_rule_is_404(shopper, method, suffix):
    other = DealAlertRule.objects.create(user=UserFactory(), name="theirs", keywords=["bike"])
    response = getattr(shopper, method)(f"/api/deal-alert-rules/{other.pk}{suffix}", {}, format="json")
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.enabled and other.name == "theirs"


def test_anonymous_is_401(api_client):
    assert api_client.get("/api/deal-alert-rules").status_code == 401


def test_list_queries_are_constant(shopper, user):
    DealAlertRule.objects.create(user=user, name="one", keywords=["x"])
    few = count_queries(lambda: shopper.get("/api/deal-alert-rules"))
    DealAlertRule.objects.bulk_create(DealAlertRule(user=user, name=f"r{i}", keywords=["x"]) for i in range(30))
    assert count_queries(lambda: shopper.get("/api/deal-alert-rules")) == few


def test_backtest_counts_listings_sold_since(shopper):
    ListingFactory(title="Gaming PC", price=Decimal(500), deal_score=0.9, is_active=False)
    rule_id = create(shopper).json()["id"]
    assert shopper.post(f"/api/deal-alert-rules/{rule_id}/test").json()["matching_count"] == 1


def test_repeated_keywords_are_dropped_whatever_their_case(shopper):
    assert create(shopper, keywords=["ThinkPad", "thinkpads", "dell"]).json()["keywords"] == ["ThinkPad", "dell"]


def test_every_error_comes_in_one_answer(shopper):
    response = shopper.post(
        "/api/deal-alert-rules",
        {"name": "", "keywords": ["bike"], "min_price": 500, "max_price": 100, "radius_mi": 0},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"name", "max_price", "radius_mi"}
    assert response.json()["max_price"] == ["Must be at least the minimum price."]


def test_saving_a_rule_says_which_channels_it_will_use_now(shopper, user):
    response = create(shopper, notification_channels=["sms"])
    assert response.status_code == 201, response.json()
    rule = response.json()
    assert rule["notification_channels"] == ["sms"]  # saved as asked: SMS is used once it is set up
    assert rule["delivery_channels"] == ["email"]
    assert rule["channel_notes"] == ["SMS is not set up, so we will tell you by email."]
    patched = shopper.patch(
        f"/api/deal-alert-rules/{rule['id']}", {"notification_channels": ["email", "push"]}, format="json"
    ).json()
    assert patched["delivery_channels"] == ["email"]
    assert patched["channel_notes"] == ["Push is not available on this site yet, so we will tell you by email only."]
    mine = shopper.patch(f"/api/deal-alert-rules/{rule['id']}", {"notification_channels": []}, format="json").json()
    assert (mine["delivery_channels"], mine["channel_notes"]) == (["email"], [])


def test_a_rule_no_channel_can_deliver_is_saved_with_a_note_not_an_error(api_client):
    user = UserFactory(email_confirmed_at=None)
    api_client.force_authenticate(user)
    response = create(api_client, notification_channels=[])
    assert response.status_code == 201
    assert response.json()["delivery_channels"] == []
    assert response.json()["channel_notes"] == [
        "No channel can reach you yet (Email is not confirmed yet): fix it in your notification settings."
    ]


def test_delivery_channels_are_read_only(shopper):
    response = create(shopper, delivery_channels=["sms"])
    assert response.status_code == 400 and response.json() == {"delivery_channels": ["Read-only field."]}


def test_listing_rules_reads_the_preferences_once_however_many_rules(shopper, user):
    for i in range(3):
        create(shopper, name=f"Rule {i}", notification_channels=["sms"] if i % 2 else [])
    few = count_queries(lambda: shopper.get("/api/deal-alert-rules"))
    for i in range(3, 9):
        create(shopper, name=f"Rule {i}", notification_channels=["sms", "email"][: 1 + i % 2])
    assert count_queries(lambda: shopper.get("/api/deal-alert-rules")) == few
    listed = shopper.get("/api/deal-alert-rules").json()
    assert {tuple(r["delivery_channels"]) for r in listed["results"]} == {("email",)}
