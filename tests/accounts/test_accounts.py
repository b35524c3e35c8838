import pytest
from rest_framework.authtoken.models import Token

from accounts.models import User
from activity.models import Event, Kind
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_signup_logs_in_with_time_zone_and_zip(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "New@Example.com",
            "password": "correct-horse-battery-9",
            "time_zone": "America/Chicago",
            "home_zip": "60614",
        },
    )
    assert response.status_code == 302
    user = User.objects.get()
    assert (user.email, str(user.time_zone), user.home_zip) == ("new@example.com", "America/Chicago", "60614")
    assert client.get("/accounts/profile/").status_code == 200


def test_signup_logs_the_sign_up(client):
    client.post(
        "/accounts/signup/", {"email": "new@example.com", "password": "correct-horse-battery-9", "time_zone": "UTC"}
    )
    user = User.objects.get()
    assert list(Event.objects.values_list("kind", "user_id", "created_at")) == [
        (Kind.USER_SIGNED_UP, user.pk, user.date_joined)
    ]


def test_a_refused_signup_logs_nothing(client):
    UserFactory(email="taken@example.com")
    client.post(
        "/accounts/signup/", {"email": "taken@example.com", "password": "correct-horse-battery-9", "time_zone": "UTC"}
    )
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "123"}, "password"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"home_zip": "00000"}, "home_zip"),
    ],
)
def test_signup_errors_are_shown_next_to_the_field(client, data, field):
    form = {"email": "a@example.com", "password": "correct-horse-battery-9", "time_zone": "UTC", "home_zip": ""}
    response = client.post("/accounts/signup/", {**form, **data})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert User.objects.count() == 0


def test_duplicate_email_is_refused(client):
    UserFactory(email="taken@example.com")
    response = client.post(
        "/accounts/signup/", {"email": "TAKEN@example.com", "password": "correct-horse-battery-9", "time_zone": "UTC"}
    )
    assert "email" in response.context["form"].errors


def test_login_by_email_and_logout(client):
    UserFactory(email="dana@example.com")
    response = client.post("/accounts/login/", {"username": "dana@example.com", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/accounts/profile/").status_code == 302


def test_profile_update_validates_zip(client, user):
    client.force_login(user)
    response = client.post("/accounts/profile/", {"time_zone": "Europe/Paris", "home_zip": "99999"})
    assert "home_zip" in response.context["form"].errors
    client.post("/accounts/profile/", {"time_zone": "Europe/Paris", "home_zip": "10001"})
    user.refresh_from_db()
    assert (str(user.time_zone), user.home_zip) == ("Europe/Paris", "10001")


def test_token_for_email_and_password(api_client):
    user = UserFactory(email="dana@example.com")
    response = api_client.post(
        "/api/auth/token", {"email": "dana@example.com", "password": "correct-horse-battery"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "dana@example.com", "password": "wrong"}, "password"),
        ({"password": "x"}, "email"),
        ({"email": "dana@example.com"}, "password"),
        ({"email": 5, "password": "x"}, "email"),
    ],
)
def test_token_bad_input_is_400_naming_the_field(api_client, payload, field):
    UserFactory(email="dana@example.com")
    response = api_client.post("/api/auth/token", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_token_authenticates_api_calls(api_client):
    from django.contrib.auth.models import Permission

    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="ingest_listings"))
    token = Token.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.post("/api/listings", [], format="json").status_code == 400  # authenticated, empty batch
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api_client.post("/api/listings", [], format="json").status_code == 401
