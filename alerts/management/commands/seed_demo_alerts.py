"""seed_demo_alerts: the demo shopper's alert rules, matched against the last two days of demo listings.

Run after `seed_demo` (`make run` does). Matching the recent listings fills the shopper's
notification history at once, and shows the policy at work: the first ten go out (by email, to
the console in the demo), the rest are held for the digest by the daily cap.
"""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import User
from alerts import services
from alerts.models import DealAlertRule
from listings.management.commands.seed_demo import DEMO_EMAIL
from listings.models import Listing

DEMO_RULES = [
    {"name": "ThinkPads under $600", "keywords": ["thinkpad"], "max_price": Decimal(600)},
    {"name": "Road bikes nearby", "categories": ["bikes"], "max_price": Decimal(900), "radius_mi": 25},
    {"name": "Great electronics deals", "categories": ["electronics"], "min_deal_score": 0.8},
]


class Command(BaseCommand):
    help = "Give the demo shopper a few alert rules and match them against the last two days of listings."

    def handle(self, **options):
        shopper = User.objects.filter(email=DEMO_EMAIL).first()
        if shopper is None:
            raise CommandError("Run seed_demo first: there is no demo shopper.")
        if DealAlertRule.objects.filter(user=shopper).exists():
            self.stdout.write("The demo shopper already has alert rules.")
            return
        for fields in DEMO_RULES:
            services.create_rule(shopper, **fields)
        recent = Listing.objects.filter(is_active=True, first_seen_at__gte=timezone.now() - timedelta(days=2))
        matches = services.match_listings(list(recent.values_list("id", flat=True)))
        self.stdout.write(
            self.style.SUCCESS(f"{len(DEMO_RULES)} alert rules for {DEMO_EMAIL}; {len(matches)} recent listings match.")
        )
