"""make run's shoppers: over HTTP against a live site, their visits are logged by the real pages."""

from io import StringIO

import pytest
from django.core.management import call_command

from activity.models import Event, Kind
from listings.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.factories import ListingFactory, UserFactory


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_shoppers_browse_the_live_site_and_their_views_are_logged(live_server):
    UserFactory(email=DEMO_EMAIL, password=DEMO_PASSWORD)
    ListingFactory.create_batch(5)
    out = StringIO()

    call_command("simulate_shoppers", site=live_server.url, count=25, rate=1000, seed=4, stdout=out)

    assert "viewed listing" in out.getvalue() and "(200)" in out.getvalue()
    assert Event.objects.filter(kind=Kind.LISTING_VIEWED).count() >= 20
    assert Event.objects.filter(kind=Kind.SESSION_STARTED).exists()
    assert Event.objects.filter(kind=Kind.LISTING_VIEWED, user__email=DEMO_EMAIL).exists()  # signed in


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the command closes stale connections
def test_a_site_that_is_not_up_yet_is_waited_for_not_a_crash():
    ListingFactory()
    out = StringIO()
    call_command("simulate_shoppers", site="http://127.0.0.1:9", count=2, rate=1000, stdout=out)
    assert out.getvalue().count("site not answering yet") == 2
