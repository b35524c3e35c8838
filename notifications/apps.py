from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (registers the system checks, connects the signal receivers)
