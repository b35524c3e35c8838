from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from .text import listing_words


class Category(models.Model):
    """A node of the second-hand taxonomy (electronics › computers › laptops)."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list["Category"]:
        """Parents from the root down, excluding self (select_related the parents to avoid queries)."""
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain[::-1]


class Source(models.TextChoices):
    FACEBOOK = "facebook", "Facebook Marketplace"
    OFFERUP = "offerup", "OfferUp"
    CRAIGSLIST = "craigslist", "Craigslist"
    EBAY = "ebay", "eBay"
    OTHER = "other", "Other"


class Condition(models.TextChoices):
    NEW = "new", "New"
    EXCELLENT = "excellent", "Excellent"
    GOOD = "good", "Good"
    FAIR = "fair", "Fair"
    POOR = "poor", "Poor"


class Listing(models.Model):
    """One marketplace listing, upserted by (source, external_id) by every connector."""

    source = models.CharField(max_length=20, choices=Source.choices)
    external_id = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # The folded words of title and description (listings.text.listing_words), written with them
    # on every path (ingestion's COPY and bulk_create, save()), so browse, the backtest and the
    # matcher read the same words. PostgreSQL indexes them with GIN (migration 0006).
    search_words = models.TextField(blank=True, default="", editable=False)
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal(0))])
    currency = models.CharField(max_length=3, default="USD")
    # No index of its own: listing_category_active (category, is_active) serves the FK too.
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="listings", db_index=False)
    condition = models.CharField(max_length=10, choices=Condition.choices, blank=True)
    zip_code = models.CharField("ZIP code", max_length=5)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    image_url = models.URLField(max_length=500, blank=True)
    seller = models.CharField(max_length=100, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    is_active = models.BooleanField(default=True, help_text="False once the source reports it sold or removed.")
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deal_score = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="0–1; higher is a better deal.",
    )
    deal_score_explanation = models.CharField(max_length=300, blank=True)
    deal_score_is_computed = models.BooleanField(
        default=False, help_text="True when we computed the score; False when the source gave it."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="listing_unique_source_external_id"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="listing_price_not_negative"),
        ]
        indexes = [
            models.Index(fields=["is_active", "-first_seen_at"], name="listing_active_newest"),
            models.Index(fields=["category", "is_active"], name="listing_category_active"),
            models.Index(fields=["latitude", "longitude"], name="listing_lat_lon"),
            models.Index(fields=["price"], name="listing_price"),
        ]
        permissions = [("ingest_listings", "Can post listings through the ingest API (connectors)")]

    def __str__(self) -> str:
        return f"{self.title} (${self.price})"

    def save(self, *args, **kwargs) -> None:
        """Keep `search_words` in step with the text (admin edits, factories, scripts)."""
        self.search_words = listing_words(self.title, self.description)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"title", "description"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_words"}
        super().save(*args, **kwargs)


class PricePoint(models.Model):
    """The listing's price from `recorded_at` on; one row per price change."""

    # No index of its own: pricepoint_listing_time (listing, recorded_at) serves the FK too.
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="price_points", db_index=False)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at", "id"]
        indexes = [models.Index(fields=["listing", "recorded_at"], name="pricepoint_listing_time")]

    def __str__(self) -> str:
        return f"${self.price} at {self.recorded_at:%Y-%m-%d %H:%M}"


class PriceBenchmark(models.Model):
    """Median price of active listings in a category sharing a title word ("" = whole category).

    Refreshed by a periodic task so ingestion can score a batch with one query.
    """

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="price_benchmarks")
    word = models.CharField(max_length=60, blank=True)
    median_price = models.DecimalField(max_digits=12, decimal_places=2)
    sample_size = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["category", "word"], name="benchmark_unique_category_word")]

    def __str__(self) -> str:
        return f"{self.category.slug}/{self.word or '*'}: ${self.median_price} (n={self.sample_size})"


class ListingView(models.Model):
    """A signed-in user opened a listing's page; recommendations and metrics read these."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="listing_views")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="views")
    session_key = models.CharField(max_length=40, blank=True)
    # A default, not auto_now_add, so demo histories and imports can say when a view happened.
    viewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "-viewed_at"], name="listingview_user_recent")]

    def __str__(self) -> str:
        return f"{self.user} viewed {self.listing_id} at {self.viewed_at:%Y-%m-%d %H:%M}"
