"""What recommendations learn from beyond views and watches, and what they remember.

Views (`listings.ListingView`) and saved items (`watchlist.WatchlistItem`) are owned by their
apps; purchases and "not interested" are signals only recommendations read, so they live here.
"""

from django.conf import settings
from django.db import models

from listings.models import Listing


class Purchase(models.Model):
    """The user says they bought this listing ("I bought this"): a strong taste signal, never shown again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="purchases")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="purchases")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "listing"], name="purchase_once_per_listing")]
        indexes = [models.Index(fields=["user", "-created_at"], name="purchase_user_recent")]

    def __str__(self) -> str:
        return f"{self.user} bought {self.listing_id}"


class Dismissal(models.Model):
    """ "Not interested": the card goes, and listings resembling it weigh less for this user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dismissals")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="dismissals")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "listing"], name="dismissal_once_per_listing")]
        indexes = [models.Index(fields=["user", "-created_at"], name="dismissal_user_recent")]

    def __str__(self) -> str:
        return f"{self.user} is not interested in {self.listing_id}"


class UserRecommendations(models.Model):
    """The seed's `user_recommendations` cache: one user's ranked list, as the refresh computed it.

    `items` holds [{"listing_id", "score", "reason", "signals"}] best first. The list is read with
    the listings in one more query, which drops anything sold, bought or dismissed since, so a
    slightly old list is still a correct one; `stale_since` marks a list a new signal made old.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="recommendations"
    )
    items = models.JSONField(default=list)
    computed_at = models.DateTimeField()
    stale_since = models.DateTimeField(null=True, blank=True, help_text="Set when a new signal arrived.")

    class Meta:
        db_table = "user_recommendations"
        verbose_name = "user's recommendations"
        verbose_name_plural = "users' recommendations"
        indexes = [models.Index(fields=["computed_at"], name="user_recommendations_age")]

    def __str__(self) -> str:
        return f"{len(self.items)} recommendations for {self.user}"


class Surface(models.TextChoices):
    PAGE = "page", "For you page"
    API = "api", "API"
    DIGEST = "digest", "Digest"
