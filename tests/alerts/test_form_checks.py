"""The alert form reports every problem at once, as the API does, and points at the right settings."""

import re

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

EMPTY_FORM = {
    "name": "",
    "keywords": "",
    "exclude_keywords": "",
    "condition": "",
    "min_price": "",
    "max_price": "",
    "location": "",
    "radius_mi": "",
    "min_deal_score": "0.5",
    "enabled": "on",
}
NO_CRITERION = "Give the rule at least one criterion"


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def test_an_empty_form_shows_the_name_and_the_criterion_errors_together(signed_in):
    html = signed_in.post("/alerts/new/", EMPTY_FORM).content.decode()
    assert re.search(
        r'<div class="errors" id="id_name_error">\s*<p class="error" role="alert">This field may not', html
    )
    summary = re.search(r'<div class="error-summary" role="alert">(.*?)</div>', html, re.S).group(1)
    assert NO_CRITERION in summary


def test_the_api_also_says_both_for_an_all_empty_body(user):
    api = APIClient()
    api.force_authenticate(user)
    body = {"name": "", "keywords": [], "categories": [], "condition": "", "min_price": None, "location": ""}
    errors = api.post("/api/deal-alert-rules", body, format="json").json()
    assert set(errors) == {"name", "non_field_errors"} and NO_CRITERION in errors["non_field_errors"][0]


def test_an_invalid_criterion_is_named_without_the_no_criterion_error(signed_in):
    html = signed_in.post("/alerts/new/", {**EMPTY_FORM, "name": "x", "location": "00000"}).content.decode()
    assert "Unknown US ZIP code" in html and NO_CRITERION not in html


def test_preferred_channels_help_links_to_the_notification_settings(signed_in):
    html = signed_in.get("/alerts/new/").content.decode()
    help_text = re.search(r'<small class="help" id="id_notification_channels_help">(.*?)</small>', html, re.S).group(1)
    assert 'href="/notifications/settings/"' in help_text and "notification settings" in help_text
    assert "profile" not in help_text


def test_saved_categories_show_ticked_with_the_count_on_the_alert_form(signed_in, user):
    from alerts.models import DealAlertRule

    rule = DealAlertRule.objects.create(user=user, name="Mixed", categories=["laptops", "bikes"])
    html = signed_in.get(f"/alerts/{rule.pk}/edit/").content.decode()
    assert "2 selected: Laptops, Bikes" in html
    assert (
        html.count('name="categories"') > 20
        and len(re.findall(r'name="categories" value="[\w-]+" data-name="[^"]+" checked', html)) == 2
    )
