"""The "My alerts" pages: list, create and edit through the API's serializer, pause, delete, test, prefill."""

import html as html_lib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from alerts.models import DealAlertMatch, DealAlertRule
from alerts.services import MAX_RULES_PER_USER
from tests.factories import ListingFactory, UserFactory, category
from tests.queries import count_queries

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
VALID_POST = {
    "name": "ThinkPad deals",
    "keywords": "thinkpad, gaming pc ,, ",
    "exclude_keywords": "broken, for parts",
    "categories": ["laptops", "computer-parts"],
    "condition": "good",
    "min_price": "100",
    "max_price": "500.50",
    "location": "94103",
    "radius_mi": "30",
    "has_min_deal_score": "on",
    "min_deal_score": "0.7",
    "notification_channels": ["email", "discord"],
    "enabled": "on",
}


def make_rule(user, **fields) -> DealAlertRule:
    return DealAlertRule.objects.create(**{"user": user, "name": "ThinkPads", "keywords": ["thinkpad"], **fields})


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def error_next_to(html: str, field_id: str) -> str:
    """The text of the errors shown right after the field `field_id` ("" when there are none)."""
    found = re.search(rf'<div class="errors" id="{field_id}_error">(.*?)</div>', html, re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(1))) if found else ""


# --- the list ----------------------------------------------------------------------------------------


def test_pages_need_sign_in(client):
    for url in ("/alerts/", "/alerts/new/?q=thinkpad"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/alerts/")


def test_list_shows_each_rule_with_criteria_recent_matches_and_last_triggered(signed_in, user):
    now = timezone.now()
    rule = make_rule(
        user,
        name="Cheap ThinkPads",
        keywords=["thinkpad", "t14"],
        exclude_keywords=["broken"],
        categories=["laptops"],
        condition="good",
        min_price=Decimal("100"),
        max_price=Decimal("499.99"),
        location="94103",
        radius_mi=15,
        min_deal_score=0.7,
        last_triggered_at=now - timedelta(hours=2),
    )
    make_rule(user, name="Paused bikes", keywords=[], categories=["bikes"], enabled=False)
    make_rule(UserFactory(), name="Someone else's rule")
    for age in (timedelta(hours=1), timedelta(days=6), timedelta(days=8)):
        DealAlertMatch.objects.create(rule=rule, listing=ListingFactory(), matched_at=now - age)

    html = signed_in.get("/alerts/").content.decode()

    assert "Cheap ThinkPads" in html and "Paused bikes" in html and "Someone else" not in html
    row = html[html.index(f'id="rule-{rule.pk}"') :]
    row = row[: row.index("</li>")]
    assert "Mentions “thinkpad” or “t14” · not “broken” · Laptops · Good · $100–$499.99" in row
    assert "within 15 mi of 94103 · deal score ≥ 70%" in row
    assert re.search(r'class="recent-matches">2<', row)  # the 8-day-old match is out of the window
    assert "2\xa0hours ago" in row
    assert "Active" in row and ">Pause<" in row
    assert "Paused" in html and ">Resume<" in html and "Never" in html
    assert 'href="/alerts/new/"' in html and f'href="/alerts/{rule.pk}/edit/"' in html
    assert f'hx-get="/alerts/{rule.pk}/test/"' in html and f'hx-post="/alerts/{rule.pk}/delete/"' in html


def test_list_without_rules_explains_what_alerts_do(signed_in):
    html = signed_in.get("/alerts/").content.decode()
    assert "No alerts yet" in html and "watches every new listing" in html and 'href="/alerts/new/"' in html


def test_signed_in_nav_links_to_my_alerts(signed_in, client):
    assert 'href="/alerts/">My alerts</a>' in signed_in.get("/").content.decode()


def test_list_page_queries_do_not_grow_with_rules(signed_in, user):
    def rules_with_matches(n):
        for i in range(n):
            rule = make_rule(user, name=f"Rule {i}", categories=["laptops"])
            DealAlertMatch.objects.create(rule=rule, listing=ListingFactory(), matched_at=timezone.now())

    rules_with_matches(1)
    few = count_queries(lambda: signed_in.get("/alerts/"))
    rules_with_matches(15)
    assert count_queries(lambda: signed_in.get("/alerts/")) == few
    assert signed_in.get("/alerts/").content.decode().count('class="card rule') == 16


# --- pause, delete, test -----------------------------------------------------------------------------


def test_toggle_pauses_and_resumes_and_returns_just_the_row(signed_in, user):
    rule = make_rule(user)
    for _ in range(2):  # idempotent: the form says which state it wants
        response = signed_in.post(f"/alerts/{rule.pk}/toggle/", {"enabled": "0"}, headers=HTMX)
        assert response.status_code == 200
        rule.refresh_from_db()
        assert rule.enabled is False
    html = response.content.decode()
    assert html.strip().startswith("<li") and "<html" not in html
    assert f'id="rule-{rule.pk}"' in html and "Paused" in html and ">Resume<" in html

    html = signed_in.post(f"/alerts/{rule.pk}/toggle/", {"enabled": "1"}, headers=HTMX).content.decode()
    rule.refresh_from_db()
    assert rule.enabled is True and ">Pause<" in html


def test_toggle_without_htmx_redirects_to_the_list(signed_in, user):
    rule = make_rule(user)
    response = signed_in.post(f"/alerts/{rule.pk}/toggle/", {"enabled": "0"})
    assert response.status_code == 302 and response["Location"] == "/alerts/"
    rule.refresh_from_db()
    assert rule.enabled is False


def test_delete_removes_the_rule_and_its_row(signed_in, user):
    first, second = make_rule(user, name="First"), make_rule(user, name="Second")

    response = signed_in.post(f"/alerts/{first.pk}/delete/", headers=HTMX)
    # htmx swaps the row for nothing, and the status line (out of band) for what happened
    assert response.status_code == 200 and response.content.decode().startswith('\n<div id="messages" hx-swap-oob')
    assert list(DealAlertRule.objects.all()) == [second]

    response = signed_in.post(f"/alerts/{second.pk}/delete/", headers=HTMX)  # the last one: show the empty state
    assert response.status_code == 200 and response["HX-Retarget"] == "#rules"
    assert "No alerts yet" in response.content.decode()
    assert not DealAlertRule.objects.exists()


def test_delete_needs_post(signed_in, user):
    rule = make_rule(user)
    assert signed_in.get(f"/alerts/{rule.pk}/delete/").status_code == 405
    assert DealAlertRule.objects.filter(pk=rule.pk).exists()


def test_test_partial_shows_count_per_day_window_and_samples_with_why(signed_in, user):
    rule = make_rule(user, max_price=Decimal("500"), enabled=False)  # a paused rule can be tested too
    now = timezone.now()
    t14 = ListingFactory(title="ThinkPad T14", price=Decimal("300"), first_seen_at=now - timedelta(days=1))
    x1 = ListingFactory(title="ThinkPad X1", price=Decimal("450"), first_seen_at=now - timedelta(days=3))
    ListingFactory(title="ThinkPad P1", price=Decimal("900"))  # too dear
    ListingFactory(title="Dell XPS", price=Decimal("300"))  # no keyword
    ListingFactory(title="ThinkPad T480", price=Decimal("200"), first_seen_at=now - timedelta(days=40))  # too old

    response = signed_in.get(f"/alerts/{rule.pk}/test/", headers=HTMX)

    html = html_lib.unescape(response.content.decode())
    assert response.status_code == 200 and "<html" not in html
    assert "2 matching listings" in html and "in the last 30 days" in html and "about 0.07 a day" in html
    assert html.index("ThinkPad T14") < html.index("ThinkPad X1")  # newest first
    assert f'href="/listings/{t14.pk}/"' in html and f'href="/listings/{x1.pk}/"' in html
    assert "Why: mentions “thinkpad”; $300 is at most $500; deal score 70%" in html
    assert "P1" not in html and "Dell" not in html and "T480" not in html

    full = signed_in.get(f"/alerts/{rule.pk}/test/")  # without JavaScript: a page of its own
    assert b"<html" in full.content and b"2 matching listings" in full.content


def test_test_with_no_matches_says_so(signed_in, user):
    rule = make_rule(user, keywords=["unobtainium"])
    html = signed_in.get(f"/alerts/{rule.pk}/test/", headers=HTMX).content.decode()
    assert "0 matching listings" in html and "Nothing from the last 30 days matches" in html


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/alerts/{}/edit/"),
        ("post", "/alerts/{}/edit/"),
        ("post", "/alerts/{}/toggle/"),
        ("post", "/alerts/{}/delete/"),
        ("get", "/alerts/{}/test/"),
    ],
)
def test_another_users_rule_is_not_found(signed_in, method, url):
    theirs = make_rule(UserFactory(), name="Theirs")
    response = getattr(signed_in, method)(url.format(theirs.pk), {**VALID_POST, "enabled": "0"}, headers=HTMX)
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.enabled) == ("Theirs", True)


# --- create and edit ---------------------------------------------------------------------------------


def test_new_form_has_every_field(signed_in):
    html = signed_in.get("/alerts/new/").content.decode()
    fields = "name keywords exclude_keywords condition min_price max_price location radius_mi has_min_deal_score"
    for name in [*fields.split(), "enabled"]:
        assert f'name="{name}"' in html, name
    assert '<fieldset class="category-picker" id="id_categories"' in html
    assert '<li class="depth-2"><label class="check"><input type="checkbox" name="categories" value="laptops"' in html
    assert 'type="range" name="min_deal_score" id="id_min_deal_score" min="0" max="1" step="0.05"' in html
    assert html.count('name="notification_channels"') == 4
    assert 'hx-post="/alerts/preview/"' in html and "Test before saving" in html


def test_create_with_valid_data_saves_and_redirects_with_a_message(signed_in, user):
    response = signed_in.post("/alerts/new/", VALID_POST)

    assert response.status_code == 302 and response["Location"] == "/alerts/"
    rule = DealAlertRule.objects.get()
    assert rule.user == user and rule.name == "ThinkPad deals" and rule.enabled is True
    assert rule.keywords == ["thinkpad", "gaming pc"] and rule.exclude_keywords == ["broken", "for parts"]
    assert rule.categories == ["laptops", "computer-parts"] and rule.condition == "good"
    assert (rule.min_price, rule.max_price) == (Decimal("100"), Decimal("500.50"))
    assert (rule.location, rule.radius_mi, rule.min_deal_score) == ("94103", 30, 0.7)
    assert rule.notification_channels == ["email", "discord"]
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Alert “ThinkPad deals” saved. Discord is not set up, so we will tell you by email only."
    ]


def test_create_unticked_boxes_mean_no_minimum_score_any_channel_and_paused(signed_in):
    post = {**VALID_POST, "min_deal_score": "0.9", "notification_channels": []}
    del post["has_min_deal_score"], post["enabled"]
    assert signed_in.post("/alerts/new/", post).status_code == 302
    rule = DealAlertRule.objects.get()
    assert (rule.min_deal_score, rule.notification_channels, rule.enabled) == (None, [], False)


@pytest.mark.parametrize(
    ("change", "field_id", "message"),
    [
        ({"name": "  "}, "id_name", "This field may not be blank."),
        ({"categories": ["laptops", "spaceships"]}, "id_categories", "Unknown category: spaceships"),
        ({"min_price": "600", "max_price": "500"}, "id_max_price", "Must be at least the minimum price."),
        ({"min_price": "-1"}, "id_min_price", "greater than or equal to 0"),
        ({"max_price": "cheap"}, "id_max_price", "A valid number is required."),
        ({"location": "00000"}, "id_location", "Unknown US ZIP code; enter 5 digits such as 94103."),
        ({"radius_mi": "501"}, "id_radius_mi", "less than or equal to 500"),
        ({"min_deal_score": "1.5"}, "id_min_deal_score", "less than or equal to 1"),
        ({"keywords": "thinkpad, !!!"}, "id_keywords", '"!!!" has no letters or digits to match.'),
        ({"keywords": "x" * 61}, "id_keywords", "Item 1: Ensure this field has no more than 60 characters."),
        ({"notification_channels": ["email", "pigeon"]}, "id_notification_channels", '"pigeon" is not a valid'),
    ],
)
def test_bad_input_shows_the_error_next_to_its_field_and_saves_nothing(signed_in, change, field_id, message):
    response = signed_in.post("/alerts/new/", {**VALID_POST, **change})

    assert response.status_code == 200
    html = response.content.decode()
    assert message in error_next_to(html, field_id)
    assert "The alert was not saved" in html
    assert f'aria-describedby="{field_id}_error"' in html or f' {field_id}_error"' in html
    assert 'value="broken, for parts"' in html  # what was typed comes back
    assert not DealAlertRule.objects.exists()


def test_rule_without_any_criterion_shows_the_error_at_the_top(signed_in):
    response = signed_in.post("/alerts/new/", {"name": "Anything", "enabled": "on", "min_deal_score": "0.5"})
    assert response.status_code == 200
    summary = re.search(r'<div class="error-summary" role="alert">(.*?)</div>', response.content.decode(), re.S)
    assert "Give the rule at least one criterion" in summary.group(1)
    assert not DealAlertRule.objects.exists()


def test_radius_without_location_needs_a_home_zip(client):
    client.force_login(UserFactory(home_zip=""))
    response = client.post("/alerts/new/", {**VALID_POST, "location": ""})
    assert "set a home ZIP code in your profile" in error_next_to(response.content.decode(), "id_radius_mi")
    assert not DealAlertRule.objects.exists()


def test_the_rule_limit_shows_as_a_form_error(signed_in, user):
    DealAlertRule.objects.bulk_create(
        [DealAlertRule(user=user, name=f"Rule {i}", keywords=["x"]) for i in range(MAX_RULES_PER_USER)]
    )
    response = signed_in.post("/alerts/new/", VALID_POST)
    assert response.status_code == 200
    assert f"You can have at most {MAX_RULES_PER_USER} alert rules; delete one first." in response.content.decode()
    assert DealAlertRule.objects.count() == MAX_RULES_PER_USER


def test_edit_shows_the_rule_and_saves_changes(signed_in, user):
    rule = make_rule(
        user, keywords=["thinkpad", "t14"], categories=["laptops"], max_price=Decimal("500.00"), min_deal_score=0.75
    )
    html = signed_in.get(f"/alerts/{rule.pk}/edit/").content.decode()
    assert 'value="ThinkPads"' in html and 'value="thinkpad, t14"' in html and 'value="500"' in html
    assert 'name="categories" value="laptops" data-name="Laptops" checked' in html
    assert 'id="id_has_min_deal_score" value="on" checked' in html
    assert 'value="0.75"' in html and ">75%</output>" in html

    post = {**VALID_POST, "name": "Renamed", "keywords": "x1 carbon", "categories": [], "min_price": ""}
    post["max_price"] = ""
    del post["has_min_deal_score"]
    response = signed_in.post(f"/alerts/{rule.pk}/edit/", post)

    assert response.status_code == 302 and response["Location"] == "/alerts/"
    rule.refresh_from_db()
    assert (rule.name, rule.keywords, rule.categories) == ("Renamed", ["x1 carbon"], [])
    assert (rule.min_price, rule.max_price, rule.min_deal_score) == (None, None, None)


def test_invalid_edit_changes_nothing(signed_in, user):
    rule = make_rule(user)
    response = signed_in.post(f"/alerts/{rule.pk}/edit/", {**VALID_POST, "name": "New name", "radius_mi": "0"})
    assert response.status_code == 200 and "greater than or equal to 1" in error_next_to(
        response.content.decode(), "id_radius_mi"
    )
    rule.refresh_from_db()
    assert rule.name == "ThinkPads"


def test_test_before_saving_backtests_the_unsaved_rule(signed_in):
    ListingFactory(title="ThinkPad T14", price=Decimal("300"), category=category("laptops"))
    ListingFactory(title="ThinkPad dock", price=Decimal("60"), category=category("computer-parts"))
    post = {"name": "Any ThinkPad laptop", "keywords": "thinkpad", "categories": ["laptops"], "enabled": "on"}

    response = signed_in.post("/alerts/preview/", post, headers=HTMX)

    html = html_lib.unescape(response.content.decode())
    assert response.status_code == 200 and "<html" not in html
    assert "<strong>1 matching listing</strong>" in html and "ThinkPad T14" in html and "dock" not in html
    assert not DealAlertRule.objects.exists()


def test_test_before_saving_an_invalid_rule_lists_what_to_fix(signed_in):
    response = signed_in.post("/alerts/preview/", {**VALID_POST, "min_price": "900"}, headers=HTMX)
    html = html_lib.unescape(response.content.decode())
    assert (
        "Fix these before testing" in html and "<strong>Max price</strong>: Must be at least the minimum price." in html
    )
    assert not DealAlertRule.objects.exists()


# --- from a browse search ----------------------------------------------------------------------------


def test_browse_links_to_a_new_alert_with_the_current_filters(client):
    ListingFactory(title="ThinkPad T14")
    html = client.get("/?q=thinkpad&max_price=500&page=1", headers=HTMX).content.decode()
    link = re.search(r'<a class="alert-me" href="([^"]*)">.*?</a>', html, re.S)
    assert link.group(1) == "/alerts/new/?q=thinkpad&amp;max_price=500" and "Alert me on this search" in link.group(0)


def test_new_alert_prefills_from_browse_filters(signed_in):
    query = (
        "q=lenovo+thinkpad&category=laptops&condition=good&min_price=&max_price=500.00&zip=94103"
        "&radius_mi=10&min_deal_score=0.6&sort=price"
    )
    html = signed_in.get(f"/alerts/new/?{query}").content.decode()

    assert 'id="id_name" value="lenovo thinkpad in good condition under $500 near 94103"' in html
    assert 'id="id_keywords" value="lenovo thinkpad"' in html  # the whole query is one phrase
    assert 'name="categories" value="laptops" data-name="Laptops" checked' in html
    assert '<option value="good" selected>' in html
    assert 'id="id_min_price" value=""' in html and 'id="id_max_price" value="500"' in html
    assert 'id="id_location" value="94103"' in html and 'id="id_radius_mi" value="10"' in html
    assert 'id="id_has_min_deal_score" value="on" checked' in html and 'value="0.6"' in html
    assert '<output for="id_min_deal_score" id="id_min_deal_score_value">60%</output>' in html


def test_prefilled_name_falls_back_to_the_category(signed_in):
    html = signed_in.get("/alerts/new/?q=&category=bikes&max_price=300").content.decode()
    assert 'id="id_name" value="Bikes under $300"' in html


def test_saving_a_rule_no_channel_can_deliver_says_what_to_fix(client):
    user = UserFactory(email_confirmed_at=None)
    client.force_login(user)
    response = client.post("/alerts/new/", {**VALID_POST, "notification_channels": ["sms"]}, follow=True)
    assert DealAlertRule.objects.filter(user=user).count() == 1  # saved all the same
    assert (
        "saved. No channel can reach you yet (SMS is not set up; Email is not confirmed yet): "
        "fix it in your notification settings." in response.content.decode()
    )


def test_the_form_marks_channels_that_cannot_be_used_now(signed_in, user):
    page = signed_in.get("/alerts/new/").content.decode()
    assert re.search(r'value="email"[^>]*> Email</label>', page)
    assert re.search(r'value="sms"[^>]*> SMS <small class="muted">\(not set up\)</small>', page)
    user.notification_preferences.channels = []
    user.notification_preferences.save()
    page = signed_in.get("/alerts/new/").content.decode()
    assert re.search(r'value="email"[^>]*> Email <small class="muted">\(off in your settings\)</small>', page)
