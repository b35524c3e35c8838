from celery import shared_task
from django.db import IntegrityError

from . import services

BATCH = 1000


# Two batches re-pricing one listing at once can both try to create that day's notification for
# the same drop; the loser rolls back on the unique constraint and its retry finds nothing new.
@shared_task(name="watchlist.check_listings", autoretry_for=(IntegrityError,), retry_backoff=1, max_retries=5)
def check_listings(listing_ids: list[int]) -> None:
    services.check_listings(listing_ids)


@shared_task(name="watchlist.recheck_recent_alerts")
def recheck_recent_alerts() -> None:
    """Hourly: drops held back by the one-alert-a-day limit are told when the user's next day starts."""
    services.recheck_recent_alerts()
