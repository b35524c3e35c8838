from datetime import timedelta

from celery import shared_task
from django.db import IntegrityError
from django.utils import timezone

from . import services

SWEEP_OVERLAP = timedelta(minutes=5)


# Two batches matching different rules of one user to the same listing at the same moment can
# both try to create that day's notification; the loser's transaction (matches included) rolls
# back on the unique constraint, and the retry finds the winner's notification and joins it.
@shared_task(name="alerts.match_new_listings", autoretry_for=(IntegrityError,), retry_backoff=1, max_retries=5)
def match_new_listings(listing_ids: list[int]) -> None:
    services.match_listings(listing_ids)


@shared_task(name="alerts.check_all_rules")
def check_all_rules(interval_minutes: int = 30) -> None:
    """The roadmap's 30-minute check, kept as a safety net behind the live matcher.

    It re-matches what was seen in the last interval (plus an overlap) and records
    only matches the live path missed; recorded ones are never announced again.
    """
    services.sweep_recent_listings(since=timezone.now() - timedelta(minutes=interval_minutes) - SWEEP_OVERLAP)
