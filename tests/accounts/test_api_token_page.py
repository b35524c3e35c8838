"""The profile page's API token: see whether one exists (masked), create it (key shown once),
replace it, and revoke it after a confirmation."""

import pytest
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def test_profile_says_there_is_no_token(signed_in):
    response = signed_in.get("/accounts/profile/")
    assert "You have no API token" in response.content.decode()
    assert "Create token" in response.content.decode()


def test_an_existing_token_is_shown_masked_never_whole(signed_in, user):
    key = Token.objects.create(user=user).key
    page = signed_in.get("/accounts/profile/").content.decode()
    assert f"{key[:4]}…{key[-4:]}" in page
    assert key not in page
    assert "Revoke" in page


def test_creating_shows_the_key_once_and_it_works_on_the_api(signed_in, user, api_client):
    response = signed_in.post("/accounts/profile/api-token/")
    key = Token.objects.get(user=user).key
    assert key in response.content.decode()
    assert "it will not be shown again" in response.content.decode()
    assert key not in signed_in.get("/accounts/profile/").content.decode()

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/notification-preferences/summary").status_code == 200


def test_creating_again_replaces_the_old_token(signed_in, user, api_client):
    old = Token.objects.create(user=user).key
    response = signed_in.post("/accounts/profile/api-token/", HTTP_HX_REQUEST="true")
    new = Token.objects.get(user=user).key
    assert new != old
    assert new in response.content.decode()
    assert "<html" not in response.content.decode()  # htmx gets just the section
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api_client.get("/api/notification-preferences/summary").status_code == 401


def test_revoke_asks_first_without_javascript(signed_in, user):
    Token.objects.create(user=user)
    response = signed_in.post("/accounts/profile/api-token/revoke/")
    assert response.status_code == 200
    assert "Revoke your API token?" in response.content.decode()
    assert Token.objects.filter(user=user).exists()


def test_revoke_once_confirmed(signed_in, user, api_client):
    key = Token.objects.create(user=user).key
    response = signed_in.post("/accounts/profile/api-token/revoke/", {"confirm": "yes"}, follow=True)
    assert "API token revoked" in response.content.decode()
    assert "You have no API token" in response.content.decode()
    assert not Token.objects.filter(user=user).exists()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/notification-preferences/summary").status_code == 401


def test_revoke_through_htmx_returns_the_section(signed_in, user):
    Token.objects.create(user=user)
    response = signed_in.post("/accounts/profile/api-token/revoke/", {"confirm": "yes"}, HTTP_HX_REQUEST="true")
    assert "You have no API token" in response.content.decode()
    assert "<html" not in response.content.decode()


def test_token_pages_need_a_sign_in_and_a_post(client, signed_in):
    assert signed_in.get("/accounts/profile/api-token/").status_code == 405
    client.logout()
    assert client.post("/accounts/profile/api-token/").status_code == 302
    assert not Token.objects.exists()


def test_profile_page_queries_stay_few(signed_in, user, django_assert_max_num_queries):
    Token.objects.create(user=user)
    with django_assert_max_num_queries(4):
        signed_in.get("/accounts/profile/")
