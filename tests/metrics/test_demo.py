"""The demo's activity: every metric has a plausible value on a first run, and seeding twice writes nothing."""

import pytest
from django.utils import timezone

from activity.models import Event, Kind
from alerts.models import DealAlertRule
from alerts.services import create_rule
from metrics import rollup, summary
from metrics.demo import seed_activity
from tests.factories import ListingFactory, UserFactory


@pytest.mark.django_db
def test_demo_activity_gives_every_metric_a_plausible_value_once():
    users = [UserFactory(email=f"shopper-{n:04d}@dealalerts.local") for n in range(60)]
    for user in users[:40]:
        create_rule(user, name="Laptops", keywords=["laptop"])  # logs rule.created "now", as the seeds do
    ListingFactory.create_batch(20)

    written = seed_activity(days=60, seed=3)
    rollup.roll_up()
    metrics = {m.slug: m for m in summary.metrics_for(30, timezone.now())[0]}

    assert written == Event.objects.filter(detail="demo").count() > 5000
    assert all(m.value is not None for m in metrics.values())
    assert 0.1 < metrics["alert-click-through"].value < 0.3 and metrics["alert-click-through"].change > 0
    opens = metrics["digest-open-rate"]
    assert 0.15 < opens.value < 0.4 < opens.with_machines  # the proxy's opens inflate the naive rate
    assert 0.5 < metrics["users-with-a-rule"].value <= 1
    assert 0.05 < metrics["sms-opt-in-rate"].value < 0.35
    assert 2 < metrics["deals-per-session"].value < 5 and metrics["deals-per-session"].change > 0
    assert 0.03 < metrics["recommendation-click-through"].value < 0.15
    assert Event.objects.filter(kind=Kind.DIGEST_OPENED, machine=True, user_agent="Mozilla/5.0").exists()

    made = Event.objects.filter(kind=Kind.RULE_CREATED)
    assert made.count() == DealAlertRule.objects.count() == made.values("ref_id").distinct().count()  # once each
    assert seed_activity(days=60, seed=3) == 0
