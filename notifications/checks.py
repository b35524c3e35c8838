"""`manage.py check --deploy`: sending through an ESP without a webhook secret is an error."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .channels import twilio
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


@register(Tags.security, deploy=True)
def sms_provider(app_configs, **kwargs) -> list[Warning]:
    """Without Twilio, texts (codes included) are printed to the worker's console: fine in development only."""
    if twilio.configured():
        return []
    return [
        Warning(
            "No Twilio credentials: SMS, verification codes included, are printed to the console, not sent.",
            hint="Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER (or TWILIO_MESSAGING_SERVICE_SID).",
            id="notifications.W002",
        )
    ]


@register(Tags.security, deploy=True)
def push_settings(app_configs, **kwargs) -> list[Error]:
    """Push in production: a contact of our own (Apple refuses a made-up one, and its 403 would disable
    every Safari subscription) and public endpoints only (else a subscription can aim us at internal hosts)."""
    errors = []
    if settings.VAPID_PUBLIC_KEY and settings.VAPID_SUBJECT == "mailto:alerts@dealalerts.local":
        errors.append(
            Error(
                "VAPID_SUBJECT is the development default.",
                hint="Set VAPID_SUBJECT to a mailto: address or https: URL where push services can reach you.",
                id="notifications.E003",
            )
        )
    if not settings.PUSH_ENDPOINTS_PUBLIC_ONLY:
        errors.append(
            Error(
                "PUSH_ENDPOINTS_PUBLIC_ONLY is off: push subscriptions may point at internal hosts.",
                hint="Leave PUSH_ENDPOINTS_PUBLIC_ONLY unset (true) outside tests.",
                id="notifications.E004",
            )
        )
    return errors
