from django.apps import AppConfig


class WatchlistConfig(AppConfig):
    name = "watchlist"
