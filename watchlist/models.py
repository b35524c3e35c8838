"""Watched listings: the seed's `watchlist_items`, plus what the price-drop rules remember."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from listings.models import Listing

MAX_ITEMS_PER_USER = 500


class Status(models.TextChoices):
    WATCHING = "watching", "Watching"
    ALERTED = "alerted", "Alerted"
    SOLD = "sold", "Sold"


class WatchlistItem(models.Model):
    """One user watching one listing's price, with an optional target.

    The price-drop rules (`watchlist.price_drops`) read and write the fields below `created_at`;
    `alert_sent` (the seed's name) is true from an alert until the price rises back past the
    target by a margin, which re-arms the item.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlist_items")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="watchers")
    price_threshold = models.DecimalField(
        "target price",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Tell me when the price reaches this; empty: any real drop.",
    )
    alert_sent = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    added_price = models.DecimalField(max_digits=12, decimal_places=2, help_text="The price when it was watched.")
    lowest_price = models.DecimalField(max_digits=12, decimal_places=2)
    reference_price = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="The highest price since the user last heard: a drop's 'was'."
    )
    last_alert_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    last_alerted_at = models.DateTimeField(null=True, blank=True)
    sold_at = models.DateTimeField(null=True, blank=True, help_text="When we told the user it sold (once).")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "listing"], name="watchlist_item_once_per_user")]
        indexes = [
            models.Index(fields=["user", "price_threshold"], name="idx_watchlist_user_price"),
            # The hourly re-check of drops held back by the one-a-day limit reads only recent alerts.
            models.Index(
                fields=["last_alerted_at"], condition=models.Q(sold_at__isnull=True), name="watchlist_recent_alerts"
            ),
            # Ingestion finds a re-priced listing's watchers through the listing FK's own index.
        ]

    def __str__(self) -> str:
        return f"User {self.user_id} watching listing {self.listing_id}"

    @property
    def status(self) -> str:
        if self.sold_at is not None or not self.listing.is_active:
            return Status.SOLD
        return Status.ALERTED if self.alert_sent else Status.WATCHING
