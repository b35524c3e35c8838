"""Every way a rule comes into being logs `rule.created`, once, with the rule, and says whether
the user had a rule before (so "users with a first rule" counts people)."""

import pytest
from rest_framework.test import APIClient

from activity.models import Event, Kind
from alerts import services
from alerts.models import DealAlertRule
from tests.alerts.test_api import ROADMAP_EXAMPLE
from tests.alerts.test_pages import HTMX, VALID_POST
from tests.alerts.test_status_and_undo import undo_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def created_events():
    return list(Event.objects.filter(kind=Kind.RULE_CREATED).order_by("id").values_list("user_id", "ref_id", "repeat"))


def test_a_rule_made_on_the_page_logs_the_users_first_rule(client, user):
    client.force_login(user)
    assert client.post("/alerts/new/", VALID_POST).status_code == 302
    rule = DealAlertRule.objects.get()
    assert created_events() == [(user.pk, rule.pk, False)]
    assert Event.objects.get().created_at == rule.created_at


def test_a_rule_made_through_the_api_logs_it_and_the_second_is_a_repeat(user):
    api = APIClient()
    api.force_authenticate(user)
    first = api.post("/api/deal-alert-rules", ROADMAP_EXAMPLE, format="json").json()["id"]
    second = api.post("/api/deal-alert-rules", {**ROADMAP_EXAMPLE, "name": "Two"}, format="json").json()["id"]
    assert created_events() == [(user.pk, first, False), (user.pk, second, True)]


def test_a_rule_after_deleting_the_only_one_is_still_a_repeat(user):
    first = services.create_rule(user, name="One", keywords=["thinkpad"])
    first_id = first.pk
    services.delete_rule(first)
    second = services.create_rule(user, name="Two", keywords=["dell"])
    assert created_events() == [(user.pk, first_id, False), (user.pk, second.pk, True)]


def test_each_users_first_rule_is_a_first(user):
    other = UserFactory()
    mine = services.create_rule(user, name="One", keywords=["thinkpad"])
    theirs = services.create_rule(other, name="One", keywords=["thinkpad"])
    assert created_events() == [(user.pk, mine.pk, False), (other.pk, theirs.pk, False)]


def test_a_rule_over_the_limit_logs_nothing(user):
    DealAlertRule.objects.bulk_create(
        DealAlertRule(user=user, name=f"r{i}", keywords=["x"]) for i in range(services.MAX_RULES_PER_USER)
    )
    with pytest.raises(services.RuleLimitReached):
        services.create_rule(user, name="One more", keywords=["x"])
    assert created_events() == []


def test_an_undone_delete_logs_the_rule_again_as_a_repeat(client, user):
    client.force_login(user)
    rule = services.create_rule(user, name="Road bikes", keywords=["trek"])
    rule_id = rule.pk
    html = client.post(f"/alerts/{rule.pk}/delete/", headers=HTMX).content.decode()
    client.post("/alerts/restore/", {"token": undo_token(html)}, headers=HTMX)
    restored = DealAlertRule.objects.get()
    assert created_events() == [(user.pk, rule_id, False), (user.pk, restored.pk, True)]
