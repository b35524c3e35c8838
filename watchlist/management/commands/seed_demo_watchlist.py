"""seed_demo_watchlist: the demo shopper watches a few listings, so `make run` shows a price-drop alert.

Run after `seed_demo` (`make run` does). The items are among the demo's longest-listed listings,
the ones the demo feed marks down now and then (`listings.demo.stale_listings`): within a few
minutes of the feed starting, one of them drops 10–25% and the shopper hears of it through the
ordinary ingest path. Most have a target about 10% under today's price (a markdown usually reaches
it), one has none (any real drop is news), and one a target a markdown rarely reaches.
"""

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from listings.demo import stale_listings
from listings.management.commands.seed_demo import DEMO_EMAIL
from watchlist import services
from watchlist.models import WatchlistItem

# A fraction of today's price per watched item: its target; None: any real drop.
DEMO_TARGETS: list[Decimal | None] = [Decimal("0.90"), None, Decimal("0.90"), Decimal("0.92"), Decimal("0.60")]


class Command(BaseCommand):
    help = "Give the demo shopper a watchlist of a few listings the demo feed marks down."

    def handle(self, **options):
        shopper = User.objects.filter(email=DEMO_EMAIL).first()
        if shopper is None:
            raise CommandError("Run seed_demo first: there is no demo shopper.")
        if WatchlistItem.objects.filter(user=shopper).exists():
            self.stdout.write("The demo shopper already has a watchlist.")
            return
        listings = stale_listings(len(DEMO_TARGETS))
        for listing, share in zip(listings, DEMO_TARGETS, strict=False):
            target = None if share is None else (listing.price * share).quantize(Decimal(1))
            services.watch(shopper, listing, target)
        self.stdout.write(self.style.SUCCESS(f"{len(listings)} watched listings for {DEMO_EMAIL}."))
