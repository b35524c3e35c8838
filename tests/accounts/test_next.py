"""Where a visitor was going survives log in ↔ sign up, but only to pages of this site."""

from urllib.parse import quote

import pytest

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ALERT_FORM = "/alerts/new/?q=unicycle&max_price=200"


def signup_data(**extra) -> dict:
    return {
        "email": "new@example.com",
        "password": "correct-horse-battery-9",
        "time_zone": "America/Los_Angeles",
        "home_zip": "94103",
        **extra,
    }


def test_login_links_to_signup_with_next(client):
    page = client.get("/accounts/login/", {"next": ALERT_FORM}).content.decode()
    assert f'href="/accounts/signup/?next={quote(ALERT_FORM, safe="")}"' in page


def test_signup_keeps_next_in_its_form_and_login_link(client):
    page = client.get("/accounts/signup/", {"next": ALERT_FORM}).content.decode()
    assert f'<input type="hidden" name="next" value="{ALERT_FORM.replace("&", "&amp;")}">' in page
    assert f'href="/accounts/login/?next={quote(ALERT_FORM, safe="")}"' in page


def test_signing_up_lands_on_next(client):
    response = client.post("/accounts/signup/", signup_data(next=ALERT_FORM))
    assert response.status_code == 302 and response.url == ALERT_FORM
    assert User.objects.filter(email="new@example.com").exists()
    form = client.get(response.url).content.decode()
    assert 'value="unicycle"' in form  # the alert form, pre-filled from the search


@pytest.mark.parametrize("target", ["https://evil.example/steal", "//evil.example/", "javascript:alert(1)"])
def test_next_to_another_site_is_ignored(client, target):
    page = client.get("/accounts/signup/", {"next": target}).content.decode()
    assert "evil.example" not in page and "javascript:" not in page
    response = client.post("/accounts/signup/", signup_data(next=target))
    assert response.status_code == 302 and response.url == "/"
    login = client.get("/accounts/login/", {"next": target}).content.decode()
    assert "evil.example" not in login


def test_signed_in_visitor_of_signup_goes_to_next(client):
    client.force_login(UserFactory())
    assert client.get("/accounts/signup/", {"next": ALERT_FORM}).url == ALERT_FORM
