"""Realistic, deterministic demo listings for seed_demo, simulate_feed and the benchmarks.

Everything is generated offline from a seeded `random.Random`: the same seed gives
the same listings. Prices follow each item's typical second-hand price, adjusted
for condition, with a spread wide enough that some listings are real deals.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from .models import Listing
from .validation import ListingInput

# (category slug, [(title, typical price in USD)])
CATALOG: dict[str, list[tuple[str, int]]] = {
    "laptops": [
        ("Lenovo ThinkPad T14 laptop", 420),
        ("MacBook Air M1 13-inch", 560),
        ("Dell XPS 13 laptop", 520),
        ("HP Pavilion 15 laptop", 280),
        ("ASUS ROG gaming laptop RTX 3060", 780),
        ("Chromebook 11", 90),
        ("MacBook Pro 14 M1 Pro", 1150),
        ("Microsoft Surface Laptop 4", 480),
    ],
    "desktops": [
        ("Gaming PC Ryzen 5 RTX 2070", 650),
        ("Dell OptiPlex desktop i5", 160),
        ("iMac 24-inch M1", 780),
        ("Mac mini M2", 430),
        ("Custom gaming PC i7 RTX 3080", 1200),
    ],
    "monitors": [
        ("Dell 27 inch 1440p monitor", 170),
        ("LG UltraGear 144Hz gaming monitor", 190),
        ("Samsung 32 inch curved monitor", 150),
        ("ASUS 24 inch monitor", 80),
    ],
    "computer-parts": [
        ("NVIDIA RTX 3070 graphics card", 330),
        ("Corsair 32GB DDR4 RAM", 65),
        ("Samsung 970 EVO 1TB SSD", 60),
        ("Mechanical keyboard Cherry MX", 55),
    ],
    "phones": [
        ("iPhone 13 128GB unlocked", 390),
        ("iPhone 12 Pro 256GB", 360),
        ("Samsung Galaxy S22", 300),
        ("Google Pixel 7", 280),
        ("iPhone SE 2nd gen", 140),
    ],
    "tablets": [
        ("iPad Air 4th gen 64GB", 320),
        ("iPad 9th gen", 210),
        ("Samsung Galaxy Tab S7", 290),
        ("Kindle Paperwhite", 70),
    ],
    "consoles": [
        ("PlayStation 5 disc edition", 390),
        ("Nintendo Switch OLED", 260),
        ("Xbox Series X", 360),
        ("Nintendo Switch Lite", 130),
        ("PS4 Pro 1TB", 190),
    ],
    "video-games": [("Zelda Tears of the Kingdom Switch", 45), ("PS5 games bundle", 80), ("Retro NES games lot", 120)],
    "tvs": [
        ("Samsung 55 inch 4K TV", 300),
        ("LG OLED 65 inch C1", 900),
        ("TCL 43 inch Roku TV", 130),
        ("Sony Bravia 50 inch", 330),
    ],
    "headphones": [("Sony WH-1000XM4 headphones", 170), ("AirPods Pro 2nd gen", 140), ("Bose QC45 headphones", 160)],
    "speakers": [("Sonos One speaker", 130), ("JBL Charge 5 speaker", 90), ("Klipsch bookshelf speakers", 150)],
    "cameras": [
        ("Canon EOS R6 body", 1500),
        ("Sony a6400 camera with kit lens", 700),
        ("GoPro Hero 10", 220),
        ("Fujifilm X100V", 1300),
    ],
    "sofas": [
        ("IKEA Kivik sofa", 250),
        ("Leather sectional couch", 600),
        ("Mid-century modern loveseat", 300),
        ("West Elm sofa", 650),
    ],
    "tables": [
        ("Solid wood dining table", 300),
        ("Coffee table walnut", 120),
        ("Round kitchen table with chairs", 180),
    ],
    "chairs": [
        ("Herman Miller Aeron chair", 450),
        ("Steelcase Leap chair", 380),
        ("Eames style lounge chair", 700),
        ("Set of 4 dining chairs", 140),
    ],
    "desks": [("Standing desk electric", 260), ("IKEA Malm desk", 60), ("L-shaped corner desk", 140)],
    "beds": [("Queen bed frame with mattress", 300), ("King memory foam mattress", 350), ("Bunk bed twin", 200)],
    "storage": [("IKEA Hemnes dresser", 150), ("Bookshelf 5 tier", 50), ("TV stand media console", 90)],
    "kitchen-appliances": [
        ("KitchenAid stand mixer", 220),
        ("Vitamix blender", 250),
        ("Ninja air fryer", 60),
        ("Breville espresso machine", 380),
    ],
    "washers-dryers": [("Samsung washer and dryer set", 700), ("LG front load washer", 400), ("Whirlpool dryer", 250)],
    "refrigerators": [("Stainless steel refrigerator French door", 800), ("Mini fridge", 80)],
    "power-tools": [
        ("DeWalt 20V drill set", 140),
        ("Milwaukee M18 impact driver", 120),
        ("Makita circular saw", 90),
        ("Table saw SawStop", 1800),
    ],
    "hand-tools": [("Craftsman mechanics tool set", 90), ("Snap-on wrench set", 250)],
    "bikes": [
        ("Trek road bike 56cm", 650),
        ("Specialized mountain bike", 800),
        ("Cannondale hybrid bike", 380),
        ("Electric bike Rad Power", 900),
        ("Kids bike 20 inch", 70),
        ("Brompton folding bike", 1400),
    ],
    "fitness": [
        ("Peloton bike", 700),
        ("Adjustable dumbbells Bowflex", 250),
        ("Treadmill NordicTrack", 500),
        ("Rogue squat rack", 600),
    ],
    "camping": [("REI 4 person tent", 150), ("Yeti cooler 45", 200), ("Camp stove Coleman", 40)],
    "golf": [("Callaway golf clubs set", 350), ("TaylorMade driver", 180)],
    "snow-sports": [("Burton snowboard with bindings", 280), ("Rossignol skis 170cm", 250)],
    "cars": [
        ("2014 Honda Civic", 9800),
        ("2012 Toyota Camry", 8500),
        ("2016 Subaru Outback", 13500),
        ("2010 Ford F-150", 11000),
    ],
    "motorcycles": [("2018 Honda Rebel 500", 5200), ("Yamaha MT-07", 6300)],
    "auto-parts": [("Set of 4 winter tires", 300), ("Thule roof box", 350), ("Car jump starter", 60)],
    "shoes": [("Nike Air Jordan 1 size 10", 160), ("Allbirds wool runners", 50), ("Dr. Martens boots", 80)],
    "jackets": [("Patagonia down jacket", 120), ("Arc'teryx rain shell", 220), ("Canada Goose parka", 450)],
    "home-decor": [("Large floor mirror", 80), ("Persian style area rug 8x10", 200), ("Floor lamp brass", 60)],
    "kitchenware": [("Le Creuset dutch oven", 180), ("All-Clad pan set", 250)],
    "garden": [("Weber gas grill", 280), ("Patio furniture set", 350), ("Lawn mower Honda", 220)],
    "toys": [("LEGO Star Wars set", 90), ("Wooden train set", 40), ("Barbie dreamhouse", 90)],
    "baby": [("UPPAbaby Vista stroller", 450), ("Graco car seat", 80), ("Crib with mattress", 150)],
    "guitars": [
        ("Fender Stratocaster electric guitar", 650),
        ("Taylor acoustic guitar", 700),
        ("Gibson Les Paul Studio", 1100),
    ],
    "keyboards-pianos": [("Yamaha digital piano P-125", 450), ("Roland keyboard 61 keys", 220)],
    "books": [("Harry Potter box set", 50), ("Vinyl records collection", 150)],
    "collectibles": [("Pokemon cards collection", 200), ("Vintage Rolex box", 150)],
    "free-stuff": [("Free moving boxes", 0), ("Free firewood", 0), ("Free couch must pick up", 0)],
}

# ZIPs around the metros where second-hand trade is busiest.
DEMO_ZIPS = [
    "94103",
    "94110",
    "94611",
    "95112",
    "90012",
    "90026",
    "90401",
    "92101",
    "97214",
    "98103",
    "98109",
    "10001",
    "10011",
    "11211",
    "11215",
    "07030",
    "02139",
    "02116",
    "19103",
    "20001",
    "22201",
    "60614",
    "60622",
    "55408",
    "78701",
    "78704",
    "75201",
    "77006",
    "80202",
    "85004",
    "89101",
    "30308",
    "33130",
    "32801",
    "28202",
    "37203",
    "48226",
    "43215",
    "15213",
    "84101",
]

ADJECTIVES = [
    "",
    "",
    "",
    "like new",
    "barely used",
    "great shape",
    "must sell",
    "moving sale",
    "with box",
    "lightly used",
    "price drop",
    "pickup only",
]
DESCRIPTIONS = [
    "Works perfectly, selling because I upgraded.",
    "Moving out of state, need gone this week.",
    "Some cosmetic wear, fully functional.",
    "Original owner, non-smoking home.",
    "Comes with all accessories and original box.",
    "Cash or Venmo, pickup only.",
    "Lightly used, no scratches.",
    "Priced to sell, first come first served.",
]
SOURCES = ["facebook", "offerup", "craigslist", "ebay", "facebook", "craigslist"]
CONDITIONS = [("new", 1.15), ("excellent", 1.0), ("good", 0.85), ("fair", 0.65), ("poor", 0.45), ("", 0.85)]
SOURCE_HOSTS = {
    "facebook": "https://www.facebook.com/marketplace/item/{id}/",
    "offerup": "https://offerup.com/item/detail/{id}",
    "craigslist": "https://sfbay.craigslist.org/sss/d/{id}.html",
    "ebay": "https://www.ebay.com/itm/{id}",
    "other": "https://example.org/listing/{id}",
}
FIRST_NAMES = ["Alex", "Sam", "Jordan", "Taylor", "Chris", "Morgan", "Jamie", "Pat", "Riley", "Casey", "Drew", "Lee"]


@dataclass
class DemoItem:
    """A generated listing in the ingest wire format, plus what re-pricing needs."""

    raw: dict
    typical: int


def _price(rng: random.Random, typical: int, factor: float) -> Decimal:
    if typical == 0:
        return Decimal("0.00")
    price = typical * factor * rng.lognormvariate(0, 0.25)
    price = round(price / 5) * 5 if price > 50 else round(price)
    return Decimal(max(1, price)).quantize(Decimal("0.01"))


def make_listing(rng: random.Random, serial: int, source: str | None = None, prefix: str = "demo") -> DemoItem:
    category = rng.choice(list(CATALOG))
    title, typical = rng.choice(CATALOG[category])
    adjective = rng.choice(ADJECTIVES)
    condition, factor = rng.choice(CONDITIONS)
    source = source or rng.choice(SOURCES)
    external_id = f"{prefix}-{serial}"
    raw = {
        "source": source,
        "external_id": external_id,
        "url": SOURCE_HOSTS[source].format(id=external_id),
        "title": f"{title} - {adjective}" if adjective else title,
        "description": rng.choice(DESCRIPTIONS),
        "price": str(_price(rng, typical, factor)),
        "currency": "USD",
        "category": category,
        "condition": condition or None,
        "zip_code": rng.choice(DEMO_ZIPS),
        "seller": f"{rng.choice(FIRST_NAMES)} {chr(65 + rng.randrange(26))}.",
    }
    return DemoItem(raw=raw, typical=typical)


def reprice(rng: random.Random, item: DemoItem) -> DemoItem:
    """A price drop (mostly) or bump, as sellers do after a few days without a buyer."""
    price = Decimal(item.raw["price"])
    if price == 0:
        return item
    change = Decimal(str(rng.choice([0.85, 0.9, 0.9, 0.95, 0.8, 1.05])))
    new_price = max(Decimal(1), (price * change).quantize(Decimal(1)))
    if new_price == price:
        new_price = price - 1 if price > 1 else price + 1
    return DemoItem(raw={**item.raw, "price": str(new_price.quantize(Decimal("0.01")))}, typical=item.typical)


# The demo's longest-listed items: the feed marks these down now and then, as sellers do when nothing
# sells, and the demo shopper's watchlist is chosen from them, so a price drop reaches the shopper
# within minutes of `make run` (the feed knows nothing of watchlists: any watcher hears the same way).
STALE_COUNT = 6
MARKDOWN = (0.10, 0.25)


def stale_listings(count: int = STALE_COUNT) -> list[Listing]:
    """The active demo listings listed longest (free ones have nothing to mark down)."""
    return list(
        Listing.objects.filter(is_active=True, external_id__startswith="demo-", price__gte=10)
        .select_related("category")
        .order_by("first_seen_at", "id")[:count]
    )


def markdown(rng: random.Random, listing: Listing) -> ListingInput:
    """The listing re-posted 10–25% cheaper; once under half its first price, back at that price (a relist)."""
    first = listing.price_points.order_by("recorded_at", "id").values_list("price", flat=True).first() or listing.price
    if listing.price * 2 < first:
        price = first
    else:
        price = (listing.price * Decimal(str(1 - rng.uniform(*MARKDOWN)))).quantize(Decimal(1))
        price = max(Decimal(1), min(price, listing.price - 1)).quantize(Decimal("0.01"))
    return ListingInput(
        source=listing.source,
        external_id=listing.external_id,
        url=listing.url,
        title=listing.title,
        price=price,
        category_id=listing.category_id,
        zip_code=listing.zip_code,
        latitude=listing.latitude,
        longitude=listing.longitude,
        description=listing.description,
        currency=listing.currency,
        condition=listing.condition,
        image_url=listing.image_url,
        seller=listing.seller,
        posted_at=listing.posted_at,
        deal_score=None if listing.deal_score_is_computed else listing.deal_score,
    )


def generate(seed: int, count: int, prefix: str = "demo", start: int = 0) -> Iterator[DemoItem]:
    rng = random.Random(seed)
    for serial in range(start, start + count):
        yield make_listing(rng, serial, prefix=prefix)
