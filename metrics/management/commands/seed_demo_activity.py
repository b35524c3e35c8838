from django.core.management.base import BaseCommand

from metrics import rollup
from metrics.demo import seed_activity


class Command(BaseCommand):
    help = "Three months of the demo shoppers' activity (views, clicks, opens, opt-ins) for the metrics page."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, days: int, seed: int, **options):
        written = seed_activity(days=days, seed=seed)
        counted = rollup.roll_up()  # the page shows them at once, not a minute later
        self.stdout.write(
            self.style.SUCCESS(f"{written:,} demo events written; {counted['days']} days counted.")
            if written
            else "Demo activity already loaded."
        )
