"""`manage.py check --deploy`: sending through an ESP without a webhook secret is an error."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from .webhooks import configured_esp, webhook_secret


@register(Tags.security, deploy=True)
def esp_webhook_secret(app_configs, **kwargs) -> list[Error]:
    esp = configured_esp(settings.EMAIL_BACKEND)
    if esp is None or webhook_secret():
        return []
    return [
        Error(
            f"EMAIL_BACKEND sends through {esp}, but ANYMAIL_WEBHOOK_SECRET is not set.",
            hint=(
                "Set ANYMAIL_WEBHOOK_SECRET to a random user:password and give it to the ESP with the tracking "
                f"webhook /anymail/{esp}/tracking/. Without it the webhook is not served, so bounces and spam "
                "complaints go unrecorded and email keeps going to dead addresses."
            ),
            id="notifications.E001",
        )
    ]
