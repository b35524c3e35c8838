from anymail.signals import tracking
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import User

from .models import NotificationPreferences
from .tracking import record_provider_event


@receiver(post_save, sender=User, dispatch_uid="notifications.default_preferences")
def default_preferences(sender, instance: User, created: bool, raw: bool = False, **kwargs) -> None:
    """Every user has preferences: email on, immediately."""
    if created and not raw:
        NotificationPreferences.objects.get_or_create(user=instance)


@receiver(tracking, dispatch_uid="notifications.esp_tracking")
def esp_tracking(sender, event, esp_name: str, **kwargs) -> None:
    """Delivered, bounced, complained, opened, clicked — as the ESP's webhook reports them."""
    record_provider_event(
        event.event_type,
        message_id=event.message_id or "",
        metadata=event.metadata,
        timestamp=event.timestamp,
        description=event.description or event.mta_response or "",
        event_id=str(event.event_id or ""),
        provider=esp_name.lower(),
    )
