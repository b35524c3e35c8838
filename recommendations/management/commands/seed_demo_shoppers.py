from django.core.management.base import BaseCommand

from accounts.models import User
from listings.management.commands.seed_demo import DEMO_EMAIL

from ...demo import seed_history, seed_shoppers

# The demo shopper likes laptops, and the monitors and bikes that go with them.
DEMO_TASTE = ["laptops", "monitors", "bikes"]


class Command(BaseCommand):
    help = "Demo shoppers with hidden tastes and a month of views, watches, purchases and dismissals."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=200)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--days", type=int, default=30)

    def handle(self, users: int, seed: int, days: int, **options):
        created = seed_shoppers(users, seed=seed, days=days)
        demo = User.objects.filter(email=DEMO_EMAIL).first()
        views = seed_history(demo, DEMO_TASTE, seed=seed, days=days) if demo else 0
        self.stdout.write(
            self.style.SUCCESS(f"{created} demo shoppers created; {views} views for {DEMO_EMAIL}.")
            if created or views
            else "Demo shoppers already loaded."
        )
