import pytest

from alerts.models import DealAlertRule
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_can_list_view_and_pause_rules(client):
    admin = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    rule = DealAlertRule.objects.create(user=UserFactory(), name="Bikes", keywords=["bike"])
    client.force_login(admin)
    assert client.get("/admin/alerts/dealalertrule/").status_code == 200
    assert client.get(f"/admin/alerts/dealalertrule/{rule.pk}/change/").status_code == 200
    assert client.get("/admin/alerts/dealalertmatch/").status_code == 200
    client.post("/admin/alerts/dealalertrule/", {"action": "pause_rules", "_selected_action": [rule.pk]})
    rule.refresh_from_db()
    assert rule.enabled is False


@pytest.mark.parametrize(
    "path",
    [
        "/admin/listings/listing/",
        "/admin/listings/category/",
        "/admin/accounts/user/",
        "/admin/listings/pricepoint/",
        "/admin/listings/listingview/",
        "/admin/listings/pricebenchmark/",
        "/admin/django_celery_beat/periodictask/",
    ],
)
def test_admin_pages_load(client, path):
    client.force_login(UserFactory(email="boss@example.com", is_staff=True, is_superuser=True))
    assert client.get(path).status_code == 200
