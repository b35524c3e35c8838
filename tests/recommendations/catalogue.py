"""A small catalogue of listings over the last month, for the demo shoppers' and evaluation tests."""

from datetime import datetime, timedelta

from tests.factories import ListingFactory, category

TITLES = {
    "laptops": ["Lenovo ThinkPad laptop", "Dell XPS laptop", "ASUS gaming laptop"],
    "monitors": ["Dell 27 monitor", "LG UltraGear monitor", "Samsung curved monitor"],
    "bikes": ["Trek road bike", "Specialized mountain bike", "Cannondale hybrid bike"],
    "sofas": ["IKEA Kivik sofa", "Leather sectional couch", "West Elm sofa"],
}


def make_catalogue(now: datetime, *, per_category: int, lifetime: timedelta) -> None:
    """`per_category` listings in each of four categories, one a day from 30 days ago; every third
    sells `lifetime` after it appeared, the rest are still active. Deal scores vary from 0.3 to 0.9."""
    for slug, titles in TITLES.items():
        for n in range(per_category):
            born = now - timedelta(days=30 - n)
            gone = born + lifetime if n % 3 == 0 else None
            ListingFactory(
                title=titles[n % 3],
                category=category(slug),
                first_seen_at=born,
                deactivated_at=gone,
                is_active=gone is None,
                deal_score=0.3 + (n % 7) / 10,
            )
