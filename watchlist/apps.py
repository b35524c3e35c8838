from django.apps import AppConfig


class WatchlistConfig(AppConfig):
    name = "watchlist"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the signal receivers)
