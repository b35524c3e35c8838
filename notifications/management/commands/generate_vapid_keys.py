"""Print a new VAPID key pair as environment lines; `--demo` keeps one in var/ for `make run`."""

from django.conf import settings
from django.core.management.base import BaseCommand

from notifications.channels.push import new_vapid_keys


class Command(BaseCommand):
    help = "Print a new VAPID key pair for web push as VAPID_PUBLIC_KEY=… and VAPID_PRIVATE_KEY=… lines."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo",
            action="store_true",
            help="Write the pair to the demo keys file (under var/) unless one is there or the environment "
            "has keys; DEBUG reads it. Browsers subscribed with a key stay valid only as long as it is kept.",
        )

    def handle(self, demo: bool, **options):
        if demo:
            path = settings.VAPID_DEMO_KEYS_FILE
            if path.exists() or settings.VAPID_PRIVATE_KEY:
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            public, private = new_vapid_keys()
            path.write_text(f"VAPID_PUBLIC_KEY={public}\nVAPID_PRIVATE_KEY={private}\n")
            path.chmod(0o600)
            self.stdout.write(f"Made demo VAPID keys for web push in {path.name} (kept for the next runs).")
            return
        public, private = new_vapid_keys()
        self.stdout.write(f"VAPID_PUBLIC_KEY={public}\nVAPID_PRIVATE_KEY={private}")
