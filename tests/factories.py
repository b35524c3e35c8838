from datetime import UTC, datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import User
from listings.models import Category, Listing, PricePoint


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    password = factory.django.Password("correct-horse-battery")
    time_zone = "America/Los_Angeles"
    home_zip = "94103"
    # Confirmed, as most accounts are; pass email_confirmed_at=None for one that has not followed the link.
    email_confirmed_at = factory.LazyFunction(timezone.now)


def sms_user(phone: str = "+12015550123", **fields) -> User:
    """A user who verified this mobile number and turned SMS on beside email."""
    from dealalerts.encryption import digest
    from notifications.channels.twilio import mask_phone
    from notifications.models import Address, NotificationPreferences

    user = UserFactory(phone_number=phone, phone_digest=digest(phone), phone_verified=True, **fields)
    Address.objects.create(
        user=user, channel="sms", key=user.phone_digest, label=mask_phone(phone), verified_at=timezone.now()
    )
    NotificationPreferences.objects.filter(user=user).update(channels=["email", "sms"])
    return user


def category(slug: str) -> Category:
    """Categories are seeded by a migration; tests look them up by slug."""
    return Category.objects.get(slug=slug)


class ListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Listing
        skip_postgeneration_save = True

    source = "craigslist"
    external_id = factory.Sequence(lambda n: f"ext-{n}")
    url = factory.LazyAttribute(lambda o: f"https://sfbay.craigslist.org/{o.external_id}.html")
    title = "Lenovo ThinkPad T14 laptop"
    description = "Works great."
    price = Decimal("300.00")
    category = factory.LazyFunction(lambda: category("laptops"))
    condition = "good"
    zip_code = "94103"
    latitude = 37.7725
    longitude = -122.4147
    first_seen_at = factory.LazyFunction(timezone.now)
    last_seen_at = factory.LazyFunction(timezone.now)
    deal_score = 0.7
    deal_score_explanation = "20% below the median $375 of 12 similar listings."

    @factory.post_generation
    def history(obj, create, extracted, **kwargs):
        if create:
            PricePoint.objects.create(listing=obj, price=obj.price, recorded_at=obj.first_seen_at)


def raw_listing(**overrides) -> dict:
    """One listing in the ingest wire format (`POST /api/listings`)."""
    raw = {
        "source": "craigslist",
        "external_id": "7712",
        "url": "https://sfbay.craigslist.org/7712.html",
        "title": "ThinkPad T14 laptop",
        "description": "Barely used.",
        "price": "249.99",
        "currency": "USD",
        "category": "laptops",
        "condition": "good",
        "zip_code": "94103",
        "image_url": "https://images.example.com/7712.jpg",
        "seller": "Sam",
        "posted_at": "2026-11-20T18:04:00Z",
        "deal_score": 0.82,
        "is_active": True,
    }
    raw.update(overrides)
    return {k: v for k, v in raw.items() if v is not ...}


FIXED_NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
