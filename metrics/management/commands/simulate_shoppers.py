"""simulate_shoppers: make run's shoppers — browse, click and open over HTTP, as people and machines do.

The demo feed brings listings and the worker sends the deals they match; this brings people back
to the site, through the same pages and tracked links a real visitor uses, so every event on the
metrics page is recorded by the real code: visits of a few listing pages (anonymous, and the demo
user signed in), clicks on sent notifications' tracked links (and a mail filter's scan of some
email links), and digest pixels fetched by Apple's privacy proxy on delivery and by a person later.
A tick that fails (the web server still starting) is logged and the next goes on.
"""

import logging
import random
import re
import time
from datetime import timedelta

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone

from listings.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from listings.models import Listing
from metrics.demo import HUMAN_AGENT, PROXY_AGENT, SCANNER_AGENT
from notifications import links
from notifications.models import Delivery, DeliveryStatus, Digest, DigestStatus

logger = logging.getLogger(__name__)
TIMEOUT = 10


class Command(BaseCommand):
    help = "Demo shoppers visiting the site over HTTP: views, clicks on notifications, digest opens."

    def add_arguments(self, parser):
        parser.add_argument("--site", default="", help="The running site (default: SITE_URL).")
        parser.add_argument("--rate", type=float, default=0.5, help="Actions per second (default 0.5).")
        parser.add_argument("--count", type=int, default=0, help="Stop after this many actions (default: never).")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, site: str, rate: float, count: int, seed: int | None, **options):
        if rate <= 0:
            raise CommandError("--rate must be more than 0.")
        self.site = (site or settings.SITE_URL).rstrip("/")
        self.rng = random.Random(seed)
        self.visit: requests.Session | None = None
        self.visit_left = 0
        self.signed_in: requests.Session | None = None
        self.stdout.write(f"Shoppers visiting {self.site} about every {1 / rate:g} s; Ctrl-C stops.")
        done = 0
        try:
            while not count or done < count:
                started = time.monotonic()
                close_old_connections()
                try:
                    self.stdout.write(self.act())
                except (requests.RequestException, OSError) as error:
                    self.stdout.write(f"site not answering yet ({type(error).__name__}); trying again")
                except Exception:  # a demo process must not stop make run; say what went wrong and go on
                    logger.exception("A simulated shopper's action failed")
                done += 1
                time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
        except KeyboardInterrupt:
            pass

    def act(self) -> str:
        # About one deal in ten sent gets a click, as in the demo's history: the feed sends a few a
        # minute, so a click every minute or so; digests go out once a day, so their opens are rarer.
        roll = self.rng.random()
        if roll < 0.03 and (said := self.click()):
            return said
        if roll < 0.06 and (said := self.open_digest()):
            return said
        if roll < 0.2:
            return self.browse_signed_in()
        return self.browse()

    def browse(self) -> str:
        """A visitor's visit: a few listing pages in a row, then a new visitor (a new session)."""
        if self.visit is None or self.visit_left <= 0:
            self.visit = requests.Session()
            self.visit.headers["User-Agent"] = HUMAN_AGENT
            self.visit_left = self.rng.randint(1, 7)
        self.visit_left -= 1
        return self.view(self.visit, "a visitor")

    def browse_signed_in(self) -> str:
        if self.signed_in is None:
            session = requests.Session()
            session.headers["User-Agent"] = HUMAN_AGENT
            login = f"{self.site}/accounts/login/"
            page = session.get(login, timeout=TIMEOUT)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            form = {"username": DEMO_EMAIL, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
            form["csrfmiddlewaretoken"] = token.group(1) if token else ""
            session.post(login, data=form, headers={"Referer": login}, timeout=TIMEOUT)
            self.signed_in = session
        return self.view(self.signed_in, DEMO_EMAIL)

    def view(self, session: requests.Session, who: str) -> str:
        listing_id = self.rng.choice(self.listing_ids())
        response = session.get(f"{self.site}/listings/{listing_id}/", timeout=TIMEOUT)
        return f"{who} viewed listing {listing_id} ({response.status_code})"

    def click(self) -> str:
        """A person follows a recently sent notification's link; a mail filter scans some email links first."""
        recent = list(
            Delivery.objects.filter(
                status=DeliveryStatus.SENT,
                sent_at__gte=timezone.now() - timedelta(hours=6),
                notification__clicked_at__isnull=True,
            ).values_list("notification_id", "channel")[:200]
        )
        if not recent:
            return ""
        notification_id, channel = self.rng.choice(recent)
        url = links.click_url(notification_id, channel)
        if channel == "email" and self.rng.random() < 0.3:
            requests.head(url, headers={"User-Agent": SCANNER_AGENT}, timeout=TIMEOUT)
            return f"a mail filter scanned the {channel} link of notification {notification_id}"
        requests.get(url, headers={"User-Agent": HUMAN_AGENT}, timeout=TIMEOUT, allow_redirects=False)
        return f"someone clicked the {channel} link of notification {notification_id}"

    def open_digest(self) -> str:
        """Apple's proxy fetches a sent digest's pixel; now and then its reader opens it too."""
        recent = list(
            Digest.objects.filter(
                status=DigestStatus.SENT, sent_at__gte=timezone.now() - timedelta(days=1)
            ).values_list("id", flat=True)[:200]
        )
        if not recent:
            return ""
        digest_id = self.rng.choice(recent)
        agent = PROXY_AGENT if self.rng.random() < 0.5 else HUMAN_AGENT
        requests.get(links.open_url(digest_id), headers={"User-Agent": agent}, timeout=TIMEOUT)
        return f"digest {digest_id} opened by {'a privacy proxy' if agent == PROXY_AGENT else 'its reader'}"

    def listing_ids(self) -> list[int]:
        return list(Listing.objects.filter(is_active=True).order_by("-id").values_list("id", flat=True)[:500]) or [0]
