from celery import shared_task

from .scoring import refresh_price_benchmarks, rescore_listings
from .signals import listings_ingested, listings_rescored


@shared_task(name="listings.announce_listing_changes")
def announce_listing_changes(created: list[int], repriced: list[int], deactivated: list[int] | None = None) -> None:
    """Tell the subscribers (matcher, watchlist) which listings are new, re-priced or gone (sold, removed)."""
    listings_ingested.send(sender="listings", created=created, repriced=repriced, deactivated=deactivated or [])


@shared_task(name="listings.refresh_price_benchmarks")
def refresh_price_benchmarks_task() -> None:
    """Hourly: recompute median prices, then re-score the listings we scored ourselves."""
    refresh_price_benchmarks()
    rescored = rescore_listings()
    if rescored.raised:
        listings_rescored.send(sender="listings", raised=rescored.raised)
