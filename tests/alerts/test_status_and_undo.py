"""After pause or delete, "My alerts" says what happened (with htmx and without); a delete can be undone."""

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from alerts.models import DealAlertRule
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def make_rule(user, **fields) -> DealAlertRule:
    fields = {"name": "ThinkPads", "keywords": ["thinkpad"], "categories": ["laptops"], "max_price": 500, **fields}
    return DealAlertRule.objects.create(user=user, **fields)


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def status_line(html: str) -> str:
    found = re.search(r'<div id="messages"[^>]*>(.*?)</div>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()) if found else ""


def undo_token(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def test_pause_and_resume_through_htmx_replace_the_status_line(signed_in, user):
    rule = make_rule(user)
    html = signed_in.post(f"/alerts/{rule.pk}/toggle/", {"enabled": "0"}, headers=HTMX).content.decode()
    assert '<div id="messages" hx-swap-oob="true">' in html and status_line(html) == "Paused “ThinkPads”."
    html = signed_in.post(f"/alerts/{rule.pk}/toggle/", {"enabled": "1"}, headers=HTMX).content.decode()
    assert status_line(html) == "Resumed “ThinkPads”."


def test_pause_without_javascript_says_so_after_the_redirect(signed_in, user):
    rule = make_rule(user)
    response = signed_in.post(f"/alerts/{rule.pk}/toggle/", {"enabled": "0"}, follow=True)
    assert status_line(response.content.decode()) == "Paused “ThinkPads”."


def test_delete_through_htmx_offers_undo_which_brings_the_rule_back(signed_in, user):
    rule = make_rule(user, name="Road bikes", keywords=["trek", "specialized"], min_deal_score=0.7)
    other = make_rule(user, name="Other")
    html = signed_in.post(f"/alerts/{rule.pk}/delete/", headers=HTMX).content.decode()
    assert status_line(html) == "Deleted “Road bikes”. Undo"
    assert 'hx-post="/alerts/restore/" hx-target="#rules"' in html
    assert list(DealAlertRule.objects.all()) == [other]

    response = signed_in.post("/alerts/restore/", {"token": undo_token(html)}, headers=HTMX)
    html = response.content.decode()
    assert html.startswith('<div id="rules">') and status_line(html) == "Restored “Road bikes”."
    restored = DealAlertRule.objects.get(name="Road bikes")
    assert (restored.keywords, restored.categories, restored.max_price, restored.min_deal_score) == (
        ["trek", "specialized"],
        ["laptops"],
        500,
        0.7,
    )
    assert f'id="rule-{restored.pk}"' in html and f'id="rule-{other.pk}"' in html


def test_undo_twice_restores_once(signed_in, user):
    rule = make_rule(user)
    token = undo_token(signed_in.post(f"/alerts/{rule.pk}/delete/", headers=HTMX).content.decode())
    signed_in.post("/alerts/restore/", {"token": token}, headers=HTMX)
    html = signed_in.post("/alerts/restore/", {"token": token}, headers=HTMX).content.decode()
    assert status_line(html) == "“ThinkPads” is already restored."
    assert DealAlertRule.objects.count() == 1


def test_delete_and_undo_without_javascript(signed_in, user):
    rule = make_rule(user)
    response = signed_in.post(f"/alerts/{rule.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/alerts/"
    html = signed_in.get("/alerts/").content.decode()
    assert status_line(html) == "Deleted “ThinkPads”. Undo"
    assert 'action="/alerts/restore/"' in html and "No alerts yet" in html
    assert status_line(signed_in.get("/alerts/").content.decode()) == ""  # said once

    response = signed_in.post("/alerts/restore/", {"token": undo_token(html)})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Restored “ThinkPads”."]
    assert DealAlertRule.objects.filter(user=user, name="ThinkPads").count() == 1


def test_someone_elses_or_a_forged_token_restores_nothing(signed_in, user):
    rule = make_rule(user)
    token = undo_token(signed_in.post(f"/alerts/{rule.pk}/delete/", headers=HTMX).content.decode())
    thief = Client()
    thief.force_login(UserFactory())
    html = thief.post("/alerts/restore/", {"token": token}, headers=HTMX).content.decode()
    assert status_line(html) == "That alert can no longer be restored."
    html = signed_in.post("/alerts/restore/", {"token": token + "x"}, headers=HTMX).content.decode()
    assert status_line(html) == "That alert can no longer be restored."
    assert not DealAlertRule.objects.exists()


def test_restore_needs_post_and_a_login(client, signed_in):
    assert signed_in.get("/alerts/restore/").status_code == 405
    anonymous = Client()
    assert anonymous.post("/alerts/restore/", {"token": "x"}).status_code == 302


def test_api_delete_is_still_a_delete(user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user)
    rule = make_rule(user)
    assert api.delete(f"/api/deal-alert-rules/{rule.pk}").status_code == 204
    assert not DealAlertRule.objects.exists()


def test_undo_of_a_rule_that_no_longer_validates_says_why_by_field(signed_in, user):
    user.home_zip = "94103"
    user.save()
    rule = make_rule(user, radius_mi=10)  # the radius measures from the home ZIP
    token = undo_token(signed_in.post(f"/alerts/{rule.pk}/delete/", headers=HTMX).content.decode())
    user.home_zip = ""
    user.save()
    response = signed_in.post("/alerts/restore/", {"token": token}, headers=HTMX)
    assert response.status_code == 200
    said = status_line(response.content.decode())
    assert said.startswith("That alert can no longer be restored: Within (miles): Give a location")
    assert not DealAlertRule.objects.filter(user=user).exists()


def test_undo_refused_by_the_rule_limit_can_be_tried_again(signed_in, user, monkeypatch):
    from alerts import services

    rule = make_rule(user)
    token = undo_token(signed_in.post(f"/alerts/{rule.pk}/delete/", headers=HTMX).content.decode())
    monkeypatch.setattr(services, "MAX_RULES_PER_USER", 0)
    html = signed_in.post("/alerts/restore/", {"token": token}, headers=HTMX).content.decode()
    assert "at most 0 alert rules" in status_line(html)
    monkeypatch.setattr(services, "MAX_RULES_PER_USER", 50)
    html = signed_in.post("/alerts/restore/", {"token": token}, headers=HTMX).content.decode()
    assert status_line(html) == "Restored “ThinkPads”."
