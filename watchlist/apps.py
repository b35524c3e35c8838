from django.apps import AppConfig


class WatchlistConfig(AppConfig):
    name = "watchlist"

    def ready(self) -> None:
        from notifications import digest_sections

        from . import receivers  # noqa: F401  (connects the signal receivers)
        from .digest import SECTION

        # notifications must not import the watchlist: the digest learns of this section here.
        digest_sections.register(SECTION)
