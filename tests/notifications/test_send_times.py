"""Every send time is the policy's: a retry and a row that reaches a worker late both wait out quiet hours."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from notifications.delivery import deliver
from notifications.models import Delivery, NotificationPreferences
from tests.factories import UserFactory

from .test_delivery import queued

pytestmark = pytest.mark.django_db


def quiet_hours(user, starting_in: timedelta, lasting: timedelta) -> datetime:
    """Quiet hours on the user's clock, from the minute after now + `starting_in`, for `lasting`; returns their end."""
    local = timezone.now().astimezone(user.time_zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start, end = local + starting_in, local + starting_in + lasting
    NotificationPreferences.objects.filter(user=user).update(
        quiet_hours_start=start.time().replace(second=0, microsecond=0),
        quiet_hours_end=end.time().replace(second=0, microsecond=0),
    )
    return end.replace(second=0, microsecond=0)


def test_a_transient_failure_retried_in_quiet_hours_waits_for_their_end(postmark_peer):
    user = UserFactory()
    delivery = queued(user)
    # They start within the minute; the retry is due in 90 s (Retry-After)…
    end = quiet_hours(user, starting_in=timedelta(0), lasting=timedelta(hours=2))
    postmark_peer.fail_next("rate_limited", retry_after=90)
    assert deliver([delivery.pk]).retrying == 1
    delivery.refresh_from_db()
    # …inside them, so it waits for them to end.
    assert delivery.status == "deferred" and delivery.not_before is not None
    assert delivery.not_before >= timezone.now() + timedelta(minutes=100)
    assert abs(delivery.not_before - end) < timedelta(minutes=2)


def test_a_row_reaching_a_worker_in_quiet_hours_is_deferred_unsent(postmark_peer):
    user = UserFactory()
    delivery = queued(user)  # decided outside quiet hours: pending
    assert delivery.status == "pending"
    end = quiet_hours(user, starting_in=-timedelta(minutes=30), lasting=timedelta(hours=1))  # now inside them
    result = deliver([delivery.pk])
    assert (result.claimed, result.deferred, result.sent) == (1, 1, 0)
    delivery.refresh_from_db()
    assert delivery.status == "deferred" and delivery.attempts == 0 and "quiet hours" in delivery.reason
    assert abs(delivery.not_before - end) < timedelta(minutes=2)
    assert postmark_peer.messages == []
    Delivery.objects.filter(pk=delivery.pk).update(not_before=timezone.now())
    NotificationPreferences.objects.filter(user=user).update(quiet_hours_start=None, quiet_hours_end=None)
    assert deliver([delivery.pk]).sent == 1
