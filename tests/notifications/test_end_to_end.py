"""A listing posted through the API reaches a shopper's inbox through a real Celery worker."""

import pytest

from alerts import services as alerts
from notifications.models import Delivery
from tests.factories import UserFactory, raw_listing
from tests.waiting import wait_until


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_posted_listing_is_matched_notified_and_emailed_by_the_worker(celery_worker, staff_api, postmark_peer):
    shopper = UserFactory(email="dana@example.com")
    alerts.create_rule(shopper, name="Cheap ThinkPads", keywords=["thinkpad"], max_price=300)
    response = staff_api.post(
        "/api/listings", [raw_listing(title="ThinkPad T14 laptop", price="249.99")], format="json"
    )
    assert response.status_code == 200, response.json()

    [message] = postmark_peer.wait_for_messages(1, timeout=30)
    assert message["To"] == "dana@example.com"
    assert message["Subject"] == "New deal: ThinkPad T14 laptop — $249.99"
    assert "Cheap ThinkPads" in message["TextBody"]
    assert wait_until(lambda: Delivery.objects.filter(status="sent").exists())
    assert Delivery.objects.get().notification.user == shopper
