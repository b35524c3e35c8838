"""The metrics page, its charts and `/api/metrics`: staff only, live figures, bad windows refused."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from activity.log import record
from activity.models import Kind
from metrics import rollup
from tests.factories import UserFactory
from tests.queries import count_queries

PAGES = [reverse("metrics:metrics"), reverse("metrics:chart", args=["digest-open-rate"])]


def digests(sent: int, opened_by_people: int, machine_opens: int = 0, *, days_ago: int = 0) -> None:
    at = timezone.now() - timedelta(days=days_ago)
    for ref in range(sent):
        record(Kind.DIGEST_SENT, now=at, ref_id=ref, channel="email")
    for ref in range(machine_opens):
        record(Kind.DIGEST_OPENED, now=at, ref_id=ref, machine=True)
    for ref in range(opened_by_people):
        record(Kind.DIGEST_OPENED, now=at, ref_id=ref, repeat=ref < machine_opens, first_human=True)


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_staff_only_anonymous_sign_in_first_and_a_shopper_is_refused(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_the_page_shows_each_metric_its_target_and_verdict(client, staff_user):
    digests(sent=10, opened_by_people=3, machine_opens=6)
    rollup.roll_up()
    client.force_login(staff_user)

    page = client.get(reverse("metrics:metrics")).content.decode()

    for name in (
        "Alert click-through",
        "Active users with an alert rule",
        "Digest open rate",
        "SMS opt-in rate",
        "Deals viewed per session",
        "Recommendation click-through",
    ):
        assert name in page
    assert "<strong>30%</strong>" in page  # 3 of 10 digests opened by people
    assert "60%</strong> counting machine opens" in page  # the proxies opened 6
    assert "Meets target" in page and "Not enough data" in page
    assert 'src="/staff/metrics/chart/digest-open-rate.svg?days=30"' in page


@pytest.mark.django_db
def test_the_chart_is_an_svg_image_with_the_target_line(client, staff_user):
    digests(sent=4, opened_by_people=1)
    rollup.roll_up()
    client.force_login(staff_user)

    response = client.get(reverse("metrics:chart", args=["digest-open-rate"]), {"days": "7"})

    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert svg.startswith("<svg") and "target 25%" in svg and ("<polyline" in svg or "<circle" in svg)


@pytest.mark.django_db
def test_an_empty_window_says_so_instead_of_drawing_nothing(client, staff_user):
    client.force_login(staff_user)
    svg = client.get(reverse("metrics:chart", args=["alert-click-through"])).content.decode()
    assert "No data in this window yet" in svg
    assert "Not enough data" in client.get(reverse("metrics:metrics")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["0", "31", "abc", "7.0", "\x00"])
def test_a_window_that_is_not_offered_is_a_400_naming_days(client, staff_user, days):
    client.force_login(staff_user)
    page = client.get(reverse("metrics:metrics"), {"days": days})
    assert page.status_code == 400 and "days: choose 7, 30 or 90" in page.content.decode()
    chart = client.get(reverse("metrics:chart", args=["digest-open-rate"]), {"days": days})
    assert chart.status_code == 400


@pytest.mark.django_db
def test_an_unknown_metric_chart_is_a_404(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("metrics:chart", args=["no-such-metric"])).status_code == 404


@pytest.mark.django_db
def test_the_window_changes_what_is_counted(client, staff_user):
    digests(sent=10, opened_by_people=5, days_ago=20)
    digests(sent=10, opened_by_people=1)
    rollup.roll_up()
    client.force_login(staff_user)
    assert "<strong>10%</strong>" in client.get(reverse("metrics:metrics"), {"days": "7"}).content.decode()
    assert "<strong>30%</strong>" in client.get(reverse("metrics:metrics"), {"days": "30"}).content.decode()


@pytest.mark.django_db
def test_page_queries_stay_constant_as_events_grow(client, staff_user):
    client.force_login(staff_user)
    url = reverse("metrics:metrics")

    def page_queries() -> int:
        rollup.roll_up()
        return count_queries(lambda: client.get(url, {"days": "90"}))

    few = page_queries()
    for day in range(0, 90, 3):
        digests(sent=5, opened_by_people=2, machine_opens=1, days_ago=day)
        user = UserFactory()
        record(Kind.LISTING_VIEWED, user_id=user.id, now=timezone.now() - timedelta(days=day))
    assert page_queries() == few


@pytest.mark.django_db
def test_the_api_gives_staff_the_same_figures(api_client, staff_user):
    digests(sent=8, opened_by_people=2, machine_opens=4)
    rollup.roll_up()
    api_client.force_authenticate(staff_user)

    body = api_client.get("/api/metrics", {"days": 7}).json()

    assert body["days"] == 7
    opens = next(m for m in body["metrics"] if m["slug"] == "digest-open-rate")
    assert opens["value"] == pytest.approx(0.25) and opens["with_machines"] == pytest.approx(0.5)
    assert (opens["numerator"], opens["denominator"], opens["meets"]) == (2, 8, True)
    assert len(opens["series"]) == 7 and opens["series"][-1]["value"] == pytest.approx(0.25)
    assert len(body["metrics"]) == 6


@pytest.mark.django_db
def test_the_api_is_staff_only_and_names_a_bad_window(api_client):
    assert api_client.get("/api/metrics/").status_code in (401, 403)
    api_client.force_authenticate(UserFactory())
    assert api_client.get("/api/metrics/").status_code == 403
    api_client.force_authenticate(UserFactory(is_staff=True, email="boss@example.com"))
    response = api_client.get("/api/metrics", {"days": "14"})
    assert response.status_code == 400 and "days" in response.json()
