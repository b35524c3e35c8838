from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import User
from listings.signals import listings_ingested, listings_rescored

from .models import DealAlertRule
from .tasks import match_new_listings

RESCORED_BATCH = 1000


@receiver(listings_ingested, dispatch_uid="alerts.match_ingested_listings")
def match_ingested_listings(sender, created: list[int], repriced: list[int], **kwargs) -> None:
    match_new_listings.delay(created + repriced)


@receiver(listings_rescored, dispatch_uid="alerts.match_rescored_listings")
def match_rescored_listings(sender, raised: list[int], **kwargs) -> None:
    """A listing whose deal score rose may now pass a rule's minimum score; matches are recorded once."""
    for start in range(0, len(raised), RESCORED_BATCH):
        match_new_listings.delay(raised[start : start + RESCORED_BATCH])


@receiver(post_save, sender=User, dispatch_uid="alerts.home_zip_moves_radius_rules")
def home_zip_moves_radius_rules(sender, instance: User, update_fields=None, **kwargs) -> None:
    """Rules with a radius but no location measure from the home ZIP: touch them so the index rebuilds."""
    if update_fields is not None and "home_zip" not in update_fields:
        return
    DealAlertRule.objects.filter(user=instance, location="", radius_mi__isnull=False).update(updated_at=timezone.now())
