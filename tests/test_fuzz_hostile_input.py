"""Fuzzing with hostile values schemathesis seldom makes: lone surrogates, NUL, deep nesting,
`NaN`/`sNaN`/`Infinity` and huge numbers, in every API operation (bodies as JSON and as forms,
query strings, path parameters) and in every page form and query-string prefill. The only check:
never a 5xx. Bounded: a fixed number of examples per target, a few seconds in all.
"""

import json
from collections import Counter
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from alerts.forms import FIELDS as RULE_FORM_FIELDS
from alerts.models import DealAlertRule
from tests.factories import ListingFactory, UserFactory
from tests.test_api_schema import OPERATIONS
from watchlist.services import watch

pytestmark = pytest.mark.django_db

EXAMPLES = settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))

# Raw JSON text, so that values `json.dumps` cannot write (bare NaN, a 5,000-digit number) go too.
HOSTILE_JSON = [
    '"\\ud800"',
    '"x\\udfffy"',
    '"\\u0000"',
    '"a\\u0000b"',
    '"NaN"',
    '"sNaN"',
    '"Infinity"',
    '"-Infinity"',
    '"1e999999"',
    '"-0"',
    '"' + "9" * 400 + '"',
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999999",
    "-1e999999",
    "1e-999999",
    "9" * 5000,
    "1" + "0" * 30,
    "-" + "9" * 30,
    "[" * 40 + "]" * 40,
    "[" * 3000 + "]" * 3000,
    '{"a": ' * 40 + "1" + "}" * 40,
    '{"\\ud800": 1}',
    '{"a\\u0000": 1}',
]
# Bytes as a browser or a script could send them in a query string or a form body.
HOSTILE_BYTES = [
    b"\x00",
    b"a\x00b",
    b"\xed\xa0\x80",  # a lone surrogate in CESU-8: not UTF-8, so Django reads it as U+FFFD
    b"\xff",
    b"NaN",
    b"sNaN",
    b"-sNaN",
    b"Infinity",
    b"-Infinity",
    b"1e999999",
    b"9" * 5000,
    b"-" + b"9" * 30,
    b"0x10",
    b"",
]
HOSTILE_PATH = ["%00", "a%00b", "%ED%A0%80", "NaN", "sNaN", "9" * 30, "-1", "0"]

fuzzed: Counter = Counter()  # "api POST /api/listings/" -> cases sent


def _hostile_json() -> st.SearchStrategy[str]:
    return st.sampled_from(HOSTILE_JSON)


def _hostile_bytes() -> st.SearchStrategy[bytes]:
    return st.sampled_from(HOSTILE_BYTES) | st.binary(max_size=12)


def _form(fields: dict[str, bytes]) -> str:
    return "&".join(f"{quote_from_bytes(name.encode())}={quote_from_bytes(value)}" for name, value in fields.items())


@pytest.fixture(scope="module")
def document(django_db_blocker):
    # Generated, not fetched: a module fixture runs before the per-test generous throttle rates,
    # and an anonymous GET could meet the real rate's history in a cache shared by the session.
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    with django_db_blocker.unblock():
        return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.fixture
def world(db):
    staff = UserFactory(email="fuzz-staff@example.com", is_staff=True)
    listing = ListingFactory()
    rule = DealAlertRule.objects.create(user=staff, name="Bikes", keywords=["bike"])
    item, _ = watch(staff, ListingFactory(), None)
    ids = {
        "id": listing.pk,
        "rule_id": rule.pk,
        "slug": "laptops",
        "watchlist_item_id": item.pk,
        "listing_id": listing.pk,
    }
    return {"token": Token.objects.create(user=staff).key, "ids": ids, "user": staff}


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
def test_api_operation_never_answers_5xx_to_hostile_values(client, document, world, method, path):
    operation = document["paths"][path][method.lower()]
    parameters = operation.get("parameters", [])
    content = operation.get("requestBody", {}).get("content", {})
    body_schema = _resolve(document, content["application/json"]["schema"]) if content else None
    is_array = bool(body_schema and body_schema.get("type") == "array")
    item_schema = _resolve(document, body_schema["items"]) if is_array else body_schema
    fields = sorted((item_schema or {}).get("properties", {})) or ["value"]
    query_names = [p["name"] for p in parameters if p["in"] == "query"]
    path_names = [p["name"] for p in parameters if p["in"] == "path"]
    headers = {"HTTP_AUTHORIZATION": f"Token {world['token']}"}

    @EXAMPLES
    @given(
        value=_hostile_json(),
        raw=_hostile_bytes(),
        field=st.sampled_from(fields),
        where=st.sampled_from(["field", "list", "body", "form"] if content else ["query", "path"]),
        query_name=st.sampled_from(query_names or ["unexpected"]),
        path_value=st.sampled_from(HOSTILE_PATH),
        hostile_path=st.booleans(),
    )
    def run(value, raw, field, where, query_name, path_value, hostile_path):
        url = path
        for name in path_names:
            url = url.replace("{" + name + "}", path_value if hostile_path else str(world["ids"][name]))
        body, content_type = None, "application/json"
        if where == "field":
            body = "{" + json.dumps(field) + ": " + value + "}"
        elif where == "list":
            body = "{" + json.dumps(field) + ": [" + value + "]}"
        elif where == "body":
            body = value
        elif where == "form":
            body, content_type = _form({field: raw}), "application/x-www-form-urlencoded"
        elif where == "query":
            url += "?" + _form({query_name: raw})
        if is_array and where in ("field", "list"):
            body = "[" + body + "]"
        if body is None:
            response = client.generic(method, url, **headers)
        else:
            response = client.generic(method, url, body, content_type=content_type, **headers)
        fuzzed[f"api {method} {path}"] += 1
        assert response.status_code < 500, (method, url, body, response.content[:300])

    run()


BROWSE_FIELDS = ["q", "category", "condition", "min_price", "max_price", "zip", "radius_mi", "min_deal_score", "sort"]
RULE_FIELDS = [*RULE_FORM_FIELDS, "has_min_deal_score"]  # the page also has the slider's checkbox
SECTION_FIELDS = {
    "channels": ["channels"],
    "frequency": ["frequency", "time", "weekday"],
    "quiet-hours": ["quiet_hours", "start_time", "end_time", "urgent_in_quiet_hours"],
    "categories": ["category_filters"],
    "max-per-day": ["max_per_day"],
}
# (name, method, url, fields, signed in); "{rule}" is the signed-in user's rule, "{item}" their watchlist item.
PAGES = [
    ("browse", "GET", "/", [*BROWSE_FIELDS, "page"], False),
    ("alert new prefill", "GET", "/alerts/new/", [*BROWSE_FIELDS], True),
    ("alert new", "POST", "/alerts/new/", RULE_FIELDS, True),
    ("alert preview", "POST", "/alerts/preview/", RULE_FIELDS, True),
    ("alert edit", "POST", "/alerts/{rule}/edit/", RULE_FIELDS, True),
    ("alert edit page", "GET", "/alerts/{rule}/edit/", ["x"], True),
    ("alert toggle", "POST", "/alerts/{rule}/toggle/", ["enabled"], True),
    *[
        (f"settings {section}", "POST", f"/notifications/settings/{section}/", names, True)
        for section, names in SECTION_FIELDS.items()
    ],
    ("settings phone", "POST", "/notifications/settings/phone/", ["action", "phone_number", "otp"], True),
    ("settings discord", "POST", "/notifications/settings/discord/", ["action", "webhook_url"], True),
    ("history", "GET", "/notifications/", ["page"], True),
    ("watchlist", "GET", "/watchlist/", ["sort", "category", "at_or_below_target", "page"], True),
    ("watchlist target", "POST", "/watchlist/{item}/target/", ["price_alert_threshold", "next"], True),
    ("watchlist restore", "POST", "/watchlist/restore/", ["token"], True),
    ("watch", "POST", "/watchlist/watch/{listing}/", ["price_alert_threshold", "next"], True),
    ("for you", "GET", "/for-you/", ["page", "x"], True),
    ("not interested", "POST", "/for-you/{listing}/not-interested/", ["next"], True),
    ("bought", "POST", "/for-you/bought/{listing}/", ["next"], True),
    ("signup", "POST", "/accounts/signup/", ["email", "password", "time_zone", "home_zip"], False),
    ("login", "POST", "/accounts/login/", ["username", "password", "next"], False),
    ("profile", "POST", "/accounts/profile/", ["first_name", "last_name", "time_zone", "home_zip"], True),
]
GOOD = {
    "q": b"bike",
    "keywords": b"bike",
    "name": b"Bikes",
    "email": b"new@example.com",
    "username": b"fuzz-staff@example.com",
    "password": b"correct-horse-battery",
    "time_zone": b"UTC",
    "frequency": b"daily",
    "action": b"send",
}


@pytest.mark.parametrize(("name", "method", "url", "fields", "signed_in"), PAGES, ids=[page[0] for page in PAGES])
def test_page_never_answers_5xx_to_hostile_values(client, world, name, method, url, fields, signed_in):
    if signed_in:
        client.force_login(world["user"])
    url = url.replace("{rule}", str(world["ids"]["rule_id"])).replace("{item}", str(world["ids"]["watchlist_item_id"]))
    url = url.replace("{listing}", str(world["ids"]["id"]))

    @EXAMPLES
    @given(
        hostile=st.dictionaries(st.sampled_from(fields), _hostile_bytes(), min_size=1, max_size=3),
        repeat=st.booleans(),
    )
    def run(hostile, repeat):
        data = {key: value for key, value in GOOD.items() if key in fields} | hostile
        encoded = _form(data) + ("&" + _form(hostile) if repeat else "")  # a name sent twice, too
        if method == "GET":
            response = client.get(f"{url}?{encoded}")
        else:
            response = client.generic("POST", url, encoded, content_type="application/x-www-form-urlencoded")
        fuzzed[f"page {method} {url}"] += 1
        assert response.status_code < 500, (method, url, encoded[:300], response.content[:300])

    run()


def test_fuzz_counts(capsys):
    """Runs last in this module: every target was fuzzed; the counts go to the terminal."""
    api = {key: n for key, n in fuzzed.items() if key.startswith("api ")}
    pages = {key: n for key, n in fuzzed.items() if key.startswith("page ")}
    with capsys.disabled():
        print(
            f"\nhostile-input fuzz: {len(api)} API operations, {sum(api.values())} cases; "
            f"{len(pages)} page targets, {sum(pages.values())} cases"
        )
    if fuzzed:  # empty when this test is run on its own
        assert len(api) == len(OPERATIONS)
        assert len(pages) == len({(method, url) for _, method, url, _, _ in PAGES})
