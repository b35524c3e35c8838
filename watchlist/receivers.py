from django.dispatch import receiver

from listings.signals import listings_ingested

from .tasks import BATCH, check_listings


@receiver(listings_ingested, dispatch_uid="watchlist.check_ingested_listings")
def check_ingested_listings(sender, created: list[int], repriced: list[int], deactivated=(), **kwargs) -> None:
    """Re-priced listings may be a drop for their watchers; deactivated ones have sold."""
    changed = sorted({*repriced, *deactivated})
    for start in range(0, len(changed), BATCH):
        check_listings.delay(changed[start : start + BATCH])
