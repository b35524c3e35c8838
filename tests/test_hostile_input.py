"""Hostile input gets a 4xx naming what was wrong, never a 500: deep nesting, oversized bodies,
text the database cannot store, non-finite numbers in query strings, and prices outside the schema."""

import json
import re

import pytest
from django.urls import path
from rest_framework.decorators import api_view

from dealalerts import urls as project_urls
from tests.factories import UserFactory, raw_listing

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000


@pytest.fixture
def signed_in_api(api_client, user):
    api_client.force_authenticate(user)
    return api_client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/auth/token"),
        ("post", "/api/deal-alert-rules"),
        ("patch", "/api/notification-preferences/frequency"),
        ("post", "/api/listings"),
    ],
)
def test_deeply_nested_json_is_400(staff_api, method, path):
    response = getattr(staff_api, method)(path, DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_nesting_past_the_limit_is_400_even_when_python_could_parse_it(api_client, settings):
    settings.API_MAX_JSON_DEPTH = 5
    body = json.dumps({"email": [[[[["a@example.com"]]]]], "password": "x"})
    response = api_client.post("/api/auth/token", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_a_body_over_the_size_limit_is_413(staff_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps([raw_listing(description="x" * 2000)])
    response = staff_api.post("/api/listings", body, content_type="application/json")
    assert response.status_code == 413
    assert "1,000 bytes" in response.json()["detail"]


def test_a_full_ingest_batch_of_the_largest_listings_fits_the_size_limit(settings):
    largest = raw_listing(
        external_id="9" * 100,
        url="https://e.com/" + "u" * 486,
        title="t" * 200,
        description="d" * 10000,
        image_url="https://e.com/" + "i" * 486,
        seller="s" * 100,
        price="99999999.99",
    )
    assert len(json.dumps([largest] * 1000).encode()) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE


SURROGATE = ["Must be valid Unicode text (no lone surrogates)."]
NUL = ["Null characters are not allowed."]


@pytest.mark.parametrize(
    ("path", "body", "errors"),
    [
        ("/api/notification-preferences/frequency", {"frequency": "\ud800"}, {"frequency": SURROGATE}),
        ("/api/notification-preferences/channels", {"channels": ["email", "\udfff"]}, {"channels": {"1": SURROGATE}}),
        ("/api/notification-preferences/frequency", {"frequency": "dai\x00ly"}, {"frequency": NUL}),
    ],
)
def test_text_that_cannot_be_stored_is_400_naming_the_field(signed_in_api, path, body, errors):
    response = signed_in_api.patch(path, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == errors


@pytest.mark.parametrize(
    "fields",
    [
        {"condition": "\ud800"},
        {"notification_channels": ["\ud800"]},
        {"name": "a\x00b"},
        {"categories": ["lap\x00tops"]},
    ],
)
def test_rule_with_unstorable_text_is_400_naming_the_field(signed_in_api, fields):
    body = {"name": "Bikes", "keywords": ["bike"], **fields}
    response = signed_in_api.post("/api/deal-alert-rules", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == set(fields)


def test_a_bad_key_is_named_without_echoing_it_raw(signed_in_api):
    body = json.dumps({"frequency": "daily", "\ud800": 1})
    response = signed_in_api.patch("/api/notification-preferences/frequency", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"\\ud800": SURROGATE}


def test_nul_in_an_api_query_string_is_400_naming_the_parameter(api_client):
    response = api_client.get("/api/listings?q=think%00pad")
    assert response.status_code == 400
    assert response.json() == {"q": NUL}


@pytest.mark.parametrize("param", ["min_price", "max_price", "radius_mi"])
@pytest.mark.parametrize("value", ["sNaN", "NaN", "Infinity", "-inf", "1e999999"])
def test_alert_prefill_with_a_non_finite_number_does_not_crash(client, user, param, value):
    client.force_login(user)
    response = client.get(f"/alerts/new/?q=bike&{param}={value}")
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["category=a%00b", "q=bi%00ke", "zip=%00", "condition=go%00od"])
def test_alert_prefill_with_nul_does_not_crash(client, user, query):
    client.force_login(user)
    response = client.get(f"/alerts/new/?{query}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "min_price=sNaN",
        "max_price=NaN",
        "radius_mi=sNaN&zip=94103",
        "min_deal_score=sNaN",
        "zip=%00",
        "q=a%00b",
        "category=a%00b",
        "sort=%00",
        "page=sNaN",
    ],
)
def test_browse_with_hostile_filters_does_not_crash(client, query):
    response = client.get(f"/?{query}")
    assert response.status_code == 200


def test_notification_section_with_nul_is_a_form_error_not_a_500(client, user):
    client.force_login(user)
    response = client.post("/notifications/settings/frequency/", {"frequency": "dai\x00ly"})
    assert response.status_code == 400


def test_alert_form_with_nul_category_is_a_form_error_not_a_500(client, user):
    client.force_login(user)
    response = client.post("/alerts/new/", {"name": "x", "keywords": "bike", "categories": "lap\x00tops"})
    assert response.status_code == 200
    assert "categories" in response.context["form"].errors


# --- Ingest prices: exactly what the published schema allows.


@pytest.mark.parametrize(
    "price", ["1_000", "1e2", " 5 ", "5\n", "+5", "-0", "\u0663", "1.", ".5", "1.234", "123456789", "NaN", "Infinity"]
)
def test_ingest_rejects_prices_the_schema_does_not_allow(staff_api, price):
    response = staff_api.post("/api/listings", json.dumps([raw_listing(price=price)]), content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["0"]) == {"price"}


@pytest.mark.parametrize(("price", "stored"), [("249.99", "249.99"), ("0", "0.00"), (249.99, "249.99"), (12, "12.00")])
def test_ingest_accepts_decimal_strings_and_json_numbers(staff_api, price, stored):
    response = staff_api.post("/api/listings", json.dumps([raw_listing(price=price)]), content_type="application/json")
    assert response.status_code == 200, response.json()
    listing_id = response.json()["ids"]["created"][0]
    assert staff_api.get(f"/api/listings/{listing_id}").json()["price"] == stored


def test_schema_price_is_a_decimal_string_or_a_number(client):
    document = json.loads(client.get("/api/schema/?format=json").content)
    body = document["paths"]["/api/listings/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    price = body["items"]["properties"]["price"]
    assert price["oneOf"][0] == {"type": "string", "pattern": "^[0-9]{1,8}(\\.[0-9]{1,2})?$", "example": "249.99"}
    assert price["oneOf"][1]["type"] == "number"


# --- Unexpected errors under /api/ are JSON.


@api_view(["GET"])
def _broken(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/broken", _broken), path("broken", lambda request: 1 / 0)]
handler500 = getattr(project_urls, "handler500", None)  # the project's own, on this test urlconf


@pytest.fixture
def broken_client(client, settings):
    settings.ROOT_URLCONF = __name__
    client.raise_request_exception = False
    return client


def test_an_unexpected_api_error_is_a_json_500(broken_client):
    response = broken_client.get("/api/broken")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error."}


def test_an_unexpected_page_error_is_still_the_html_500(broken_client):
    response = broken_client.get("/broken")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_the_token_endpoint_still_works(api_client):
    UserFactory(email="a@example.com")
    body = json.dumps({"email": "a@example.com", "password": "correct-horse-battery"})
    response = api_client.post("/api/auth/token", body, content_type="application/json")
    assert response.status_code == 200


def test_pages_send_a_content_security_policy_with_the_scripts_nonce(client):
    response = client.get("/accounts/signup/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'<script nonce="{nonce}">' in response.content.decode()
    assert "unsafe-inline" not in policy


def test_swagger_ui_is_exempt_from_the_policy(client):
    assert "Content-Security-Policy" not in client.get("/api/docs/")


@pytest.mark.parametrize(("levels", "too_deep"), [(32, False), (33, True)])
@pytest.mark.parametrize("wrap", ["[[], [%s]]", '{"a": [1, "x", %s]}', '[{"a": 1}, {"b": %s}]'])
def test_the_depth_limit_counts_levels_of_nesting(levels, too_deep, wrap):
    from dealalerts.request_checks import TooDeep, check_depth, first_unstorable

    data = json.loads(wrap % ("[" * (levels - 2) + "]" * (levels - 2)))
    for check in (first_unstorable, check_depth):
        if too_deep:
            with pytest.raises(TooDeep):
                check(data, 32)
        else:
            assert check(data, 32) is None


@pytest.mark.parametrize(
    ("body", "maybe"),
    [
        (b'{"a": "plain text"}', False),
        (b'{"a": "caf\\u00e9 \\u00ff \\uD7FF \\ue000"}', False),
        (b'{"a": "x\\u0000"}', True),
        (b'{"a": "\\ud800"}', True),
        (b'{"a": "\\uDBFF"}', True),
        (b'{"a": "\\udc00"}', True),
        (b'{"\\uDFFF": 1}', True),
        (b'{"a": "x\x00"}', True),
        (b'{"a": "\\\\u0000"}', True),  # the text "\u0000": a false alarm only costs the full check
    ],
)
def test_a_json_body_is_walked_string_by_string_only_when_it_could_hold_bad_text(body, maybe):
    from dealalerts.parsers import maybe_unstorable

    assert maybe_unstorable(body) is maybe


def test_a_body_in_another_charset_still_has_each_string_checked(staff_api):
    # UTF-7 spells a lone surrogate without any \\u escape ("+2AA-"): only UTF-8 bodies skip the walk.
    body = b'[{"title": "+2AA-"}]'
    response = staff_api.post("/api/listings", body, content_type="application/json; charset=utf-7")
    assert response.status_code == 400
    assert response.json() == {"0": {"title": SURROGATE}}


def test_a_batch_of_clean_listings_is_only_checked_for_depth(staff_api, monkeypatch):
    from dealalerts import parsers

    def walk(*args):
        raise AssertionError("walked each string of a body that cannot hold bad text")

    monkeypatch.setattr(parsers, "first_unstorable", walk)
    response = staff_api.post("/api/listings", json.dumps([{"title": "caf\u00e9"}]), content_type="application/json")
    assert response.status_code == 400 and "title" not in response.json()["0"]


def test_the_first_bad_string_is_named_by_its_path():
    from dealalerts.request_checks import NUL_MESSAGE, first_unstorable

    assert first_unstorable({"a": ["ok", {"b": "x\x00"}]}, 32) == (["a", "1", "b"], NUL_MESSAGE)


@pytest.mark.django_db
def test_an_unknown_api_path_is_a_json_404_and_a_page_stays_html(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
