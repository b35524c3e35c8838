from django.conf import settings
from django.db import models

from listings.models import Listing


class DealAlertRule(models.Model):
    """A user's saved deal criteria (the roadmap's "Feature 2"); matched against every new listing."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deal_alert_rules")
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True, db_index=True)

    keywords = models.JSONField(default=list, blank=True, help_text="Any one matches (OR).")
    exclude_keywords = models.JSONField(default=list, blank=True, help_text="Any one vetoes.")
    categories = models.JSONField(default=list, blank=True, help_text="Category slugs; a parent includes children.")
    condition = models.CharField(max_length=10, blank=True)

    min_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    max_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    location = models.CharField(max_length=5, blank=True, help_text="A US ZIP code.")
    radius_mi = models.PositiveIntegerField(null=True, blank=True)

    min_deal_score = models.FloatField(null=True, blank=True)

    notification_channels = models.JSONField(default=list, blank=True, help_text="Empty: the user's channels.")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_triggered_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class DealAlertMatch(models.Model):
    """A listing that matched a rule, recorded once, with why it matched."""

    rule = models.ForeignKey(DealAlertRule, on_delete=models.CASCADE, related_name="matches")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="alert_matches")
    matched_at = models.DateTimeField()
    why = models.JSONField(default=dict, help_text="Which keyword matched, price against the range, distance, score.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "listing"], name="alertmatch_unique_rule_listing")]
        indexes = [models.Index(fields=["rule", "-matched_at"], name="alertmatch_rule_recent")]
        verbose_name_plural = "deal alert matches"

    def __str__(self) -> str:
        return f"{self.rule} ← {self.listing_id}"
