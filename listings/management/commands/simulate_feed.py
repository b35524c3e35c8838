import random
import time

from django.core.management.base import BaseCommand, CommandError

from listings.demo import generate, markdown, reprice, stale_listings
from listings.ingest import ingest_listings
from listings.validation import category_ids_by_slug, parse_listing


class Command(BaseCommand):
    help = "A demo connector: keeps posting new and re-priced listings through the ingestion service."

    def add_arguments(self, parser):
        parser.add_argument("--rate", type=float, default=1.0, help="Listings per second (default 1).")
        parser.add_argument("--count", type=int, default=0, help="Stop after this many (default: run until stopped).")
        parser.add_argument("--reprice-share", type=float, default=0.3, help="Share of re-priced listings (0-1).")
        parser.add_argument(
            "--markdown-share",
            type=float,
            default=0.15,
            help="Chance each tick of also marking down one of the longest-listed demo listings by 10-25%% (0-1).",
        )
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, rate: float, count: int, reprice_share: float, markdown_share: float, seed: int | None, **options):
        if rate <= 0:
            raise CommandError("--rate must be more than 0.")
        seed = int(time.time()) if seed is None else seed
        rng = random.Random(seed)
        fresh = generate(seed, 10**9, prefix=f"feed{seed}")
        category_ids = category_ids_by_slug()
        posted: list = []
        sent = 0
        self.stdout.write(f"Posting about {rate:g} listings/s{f' ({count} in all)' if count else ''}; Ctrl-C stops.")
        try:
            while not count or sent < count:
                tick = time.monotonic()
                size = max(1, round(rate)) if rate >= 1 else 1
                if count:
                    size = min(size, count - sent)
                batch, fresh_items = {}, []
                for _ in range(size):
                    if posted and rng.random() < reprice_share:  # re-price one from an earlier tick
                        index = rng.randrange(len(posted))
                        posted[index] = item = reprice(rng, posted[index])
                    else:
                        item = next(fresh)
                        fresh_items.append(item)
                    batch[(item.raw["source"], item.raw["external_id"])] = item
                posted.extend(fresh_items)
                inputs = [parse_listing(item.raw, category_ids)[0] for item in batch.values()]
                if rng.random() < markdown_share and (stale := stale_listings()):
                    inputs.append(markdown(rng, rng.choice(stale)))  # as sellers do when nothing sells
                result = ingest_listings(inputs)
                sent += size
                self.stdout.write(f"{len(result.created)} new, {len(result.repriced)} re-priced")
                time.sleep(max(0.0, (size / rate) - (time.monotonic() - tick)))
        except KeyboardInterrupt:
            pass
        self.stdout.write(f"Posted {sent} listings.")
