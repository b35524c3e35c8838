"""The preferences endpoints, the summary and the notification history over the API."""

from datetime import UTC, datetime, time

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.events import DealEvent, RuleSource, notify
from notifications.models import Delivery, Notification, NotificationPreferences
from tests.factories import ListingFactory, UserFactory
from tests.queries import count_queries


@pytest.fixture
def shopper(db):
    return UserFactory(time_zone="America/New_York")


@pytest.fixture
def client(shopper) -> APIClient:
    api = APIClient()
    api.force_authenticate(shopper)
    return api


def prefs(user) -> NotificationPreferences:
    return NotificationPreferences.objects.get(user=user)


@pytest.mark.parametrize("slash", ["", "/"])
def test_each_section_patches_and_returns_the_summary(client, shopper, slash):
    response = client.patch(
        f"/api/notification-preferences/frequency{slash}", {"frequency": "daily", "time": "07:30"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["frequency"] == "daily" and response.json()["digest_time"] == "07:30"

    assert (
        client.patch(
            "/api/notification-preferences/quiet-hours", {"start_time": "22:00", "end_time": "07:00"}, format="json"
        ).status_code
        == 200
    )
    assert (
        client.patch(
            "/api/notification-preferences/categories", {"category_filters": ["electronics", "bikes"]}, format="json"
        ).status_code
        == 200
    )
    assert (
        client.patch("/api/notification-preferences/max-per-day", {"max_per_day": 25}, format="json").status_code == 200
    )
    assert (
        client.patch("/api/notification-preferences/channels", {"channels": ["email"]}, format="json").status_code
        == 200
    )
    p = prefs(shopper)
    assert (p.frequency, p.digest_time, p.quiet_hours_start, p.quiet_hours_end) == (
        "daily",
        time(7, 30),
        time(22),
        time(7),
    )
    assert p.category_filters == ["electronics", "bikes"] and p.max_per_day == 25

    cleared = client.patch(
        "/api/notification-preferences/quiet-hours", {"start_time": None, "end_time": None}, format="json"
    )
    assert cleared.json()["quiet_hours"] == {"start_time": None, "end_time": None, "urgent_in_quiet_hours": False}


def test_weekly_day_by_name_or_number(client, shopper):
    client.patch("/api/notification-preferences/frequency", {"frequency": "weekly", "weekday": "friday"}, format="json")
    assert prefs(shopper).digest_weekday == 4
    response = client.patch(
        "/api/notification-preferences/frequency", {"frequency": "weekly", "weekday": 6}, format="json"
    )
    assert response.json()["digest_weekday"] == "sunday"


def test_summary_has_everything_in_the_users_zone(client, shopper):
    NotificationPreferences.objects.filter(user=shopper).update(frequency="daily", max_per_day=5)
    listing = ListingFactory()
    Notification.objects.create(
        user=shopper,
        listing=listing,
        local_day=timezone.now().astimezone(shopper.time_zone).date(),
        counts_toward_cap=True,
        created_at=timezone.now(),
    )
    body = client.get("/api/notification-preferences/summary").json()
    assert body["time_zone"] == "America/New_York"
    assert body["verified_channels"] == ["email"]
    assert (body["sent_today"], body["remaining_today"], body["max_per_day"]) == (1, 4, 5)
    assert body["digest_time"] == "09:00" and body["digest_weekday"] == "monday"
    next_digest = datetime.fromisoformat(body["next_digest_at"])
    assert next_digest.astimezone(shopper.time_zone).time() == time(9, 0) and next_digest > datetime.now(UTC)


BAD_INPUTS = [
    ("channels", {"channels": ["email", "fax"]}, "channels"),
    ("channels", {"channels": ["email", "email"]}, "channels"),
    ("channels", {"channels": ["sms"]}, "channels"),  # no verified phone yet
    ("channels", {"channels": ["push"]}, "channels"),
    ("channels", {"channels": ["discord"]}, "channels"),
    ("channels", {"channels": "email"}, "channels"),
    ("channels", {}, "channels"),
    ("frequency", {"frequency": "hourly"}, "frequency"),
    ("frequency", {"frequency": 3}, "frequency"),
    ("frequency", {"frequency": "daily", "time": "9am"}, "time"),
    ("frequency", {"frequency": "daily", "time": "25:00"}, "time"),
    ("frequency", {"frequency": "daily", "time": "09:00:00"}, "time"),
    ("frequency", {"frequency": "weekly", "weekday": "someday"}, "weekday"),
    ("frequency", {"frequency": "weekly", "weekday": 7}, "weekday"),
    ("quiet-hours", {"start_time": "22:00", "end_time": "22:00"}, "end_time"),
    ("quiet-hours", {"start_time": "22:00", "end_time": None}, "end_time"),
    ("quiet-hours", {"start_time": "10pm", "end_time": "07:00"}, "start_time"),
    ("quiet-hours", {"start_time": 2200, "end_time": "07:00"}, "start_time"),
    ("categories", {"category_filters": ["laptops", "spaceships"]}, "category_filters"),
    ("categories", {"category_filters": ["bikes", "bikes"]}, "category_filters"),
    ("categories", {"category_filters": "bikes"}, "category_filters"),
    ("categories", {"categories": ["spaceships"]}, "categories"),
    ("categories", {"categories": ["bikes"], "category_filters": ["bikes"]}, "categories"),
    ("categories", {"categories": ["bikes"], "category_filters": ["bikes"]}, "category_filters"),
    ("categories", {}, "category_filters"),
    ("max-per-day", {"max_per_day": 0}, "max_per_day"),
    ("max-per-day", {"max_per_day": 101}, "max_per_day"),
    ("max-per-day", {"max_per_day": "lots"}, "max_per_day"),
    ("max-per-day", {"max_per_day": None}, "max_per_day"),
]


@pytest.mark.parametrize("section,body,field", BAD_INPUTS)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(client, shopper, section, body, field):
    before = NotificationPreferences.objects.filter(user=shopper).values().get()
    response = client.patch(f"/api/notification-preferences/{section}", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    after = NotificationPreferences.objects.filter(user=shopper).values().get()
    assert before == after


def test_anonymous_gets_401(api_client, db):
    assert api_client.get("/api/notification-preferences/summary").status_code == 401
    assert (
        api_client.patch("/api/notification-preferences/channels", {"channels": []}, format="json").status_code == 401
    )
    assert api_client.get("/api/notifications").status_code == 401


def test_history_lists_own_notifications_with_channel_status_and_reason(client, shopper):
    other = UserFactory()
    listing = ListingFactory()
    source = RuleSource(1, "Laptops", "in laptops")
    notify([DealEvent(shopper.pk, listing.pk, source), DealEvent(other.pk, listing.pk, source)])
    body = client.get("/api/notifications").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["listing"]["id"] == listing.pk and item["sources"] == [source.as_dict()]
    assert item["deliveries"] == [
        {
            "channel": "email",
            "status": "pending",
            "reason": "sent",
            "not_before": None,
            "attempts": 0,
            "sent_at": None,
            "last_error": "",
            "provider_event": "",
        }
    ]
    theirs = Notification.objects.get(user=other)
    assert client.get(f"/api/notifications/{theirs.pk}").status_code == 404
    assert client.get(f"/api/notifications/{item['id']}/").status_code == 200


def test_history_queries_do_not_grow_with_notifications(client, shopper):
    source = RuleSource(1, "Laptops", "")
    notify([DealEvent(shopper.pk, ListingFactory().pk, source)])
    few = count_queries(lambda: client.get("/api/notifications"))
    notify([DealEvent(shopper.pk, ListingFactory().pk, source) for _ in range(15)])
    assert count_queries(lambda: client.get("/api/notifications")) == few
    assert Delivery.objects.count() == 16


def test_categories_accepts_the_paths_name_too(client, shopper):
    body = {"categories": ["bikes", "tools"]}
    response = client.patch("/api/notification-preferences/categories", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["category_filters"] == ["bikes", "tools"]
    assert prefs(shopper).category_filters == ["bikes", "tools"]


def test_giving_both_category_names_says_so(client):
    body = {"categories": ["bikes"], "category_filters": ["tools"]}
    response = client.patch("/api/notification-preferences/categories", body, format="json")
    message = ["Give either categories or category_filters, not both."]
    assert response.status_code == 400 and response.json() == {"categories": message, "category_filters": message}


def test_schema_shows_both_category_names(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    properties = schema["components"]["schemas"]["PatchedCategoriesRequest"]["properties"]
    assert {"categories", "category_filters"} <= set(properties)


def test_quiet_hours_api_keeps_its_own_wording(client):
    response = client.patch(
        "/api/notification-preferences/quiet-hours", {"start_time": "22:00", "end_time": None}, format="json"
    )
    assert response.json() == {"end_time": ["Give both times, or null for both to turn quiet hours off."]}
