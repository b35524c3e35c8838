"""The ESP's tracking webhook (delivered, bounced, complained, opened, clicked), served defensively.

django-anymail ships a view for every ESP it knows, inbound and tracking, and without
`WEBHOOK_SECRET` its basic-auth check lets anyone through: mounted whole, any visitor could post
a bounce and turn a user's email off. Here only the tracking view of the ESP that sends our
email (from `EMAIL_BACKEND`) is served, and only once `ANYMAIL_WEBHOOK_SECRET` is set; every other
`/anymail/…` URL is a 404. Which ESP that is is decided per request from the settings, so the
URL conf never goes stale. Anymail answers bad credentials with 400 and a body it cannot parse
with 500; we answer 401 and 400.
"""

from collections.abc import Callable
from functools import cache

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

ANYMAIL_BACKENDS = "anymail.backends."
# What an ESP's payload parser raises on a body of the wrong shape (anymail lets these become 500s).
MALFORMED = (AnymailError, LookupError, TypeError, ValueError, AttributeError)


@cache
def tracking_view_class(esp: str) -> type | None:
    """Anymail's view for `esp`'s tracking webhook: its own URL table names it `<esp>_tracking_webhook`."""
    for pattern in anymail_urls.urlpatterns:
        if getattr(pattern, "name", None) == f"{esp}_tracking_webhook":
            return pattern.callback.view_class
    return None


def configured_esp(email_backend: str) -> str | None:
    """`anymail.backends.postmark.EmailBackend` → "postmark"; None unless an anymail ESP with a tracking webhook."""
    if not email_backend.startswith(ANYMAIL_BACKENDS):
        return None
    esp = email_backend.removeprefix(ANYMAIL_BACKENDS).split(".", 1)[0]
    return esp if tracking_view_class(esp) is not None else None


def webhook_secret() -> str | list[str] | None:
    """`ANYMAIL["WEBHOOK_SECRET"]`, read as anymail reads it."""
    return get_anymail_setting("webhook_secret", default=None)


@cache
def _tracking_view(esp: str) -> Callable[[HttpRequest], HttpResponse]:
    esp_view = tracking_view_class(esp)

    class TrackingView(esp_view):
        def parse_events(self, request):
            try:
                return list(super().parse_events(request))
            except MALFORMED as error:
                raise BadRequest(f"Malformed {self.esp_name} tracking webhook payload") from error

    TrackingView.__name__ = esp_view.__name__
    return TrackingView.as_view()


@csrf_exempt  # the ESP posts from its servers; the secret, not a cookie, authenticates it
def tracking_webhook(request: HttpRequest, esp: str) -> HttpResponse:
    if esp != configured_esp(settings.EMAIL_BACKEND) or not webhook_secret():
        raise Http404("No tracking webhook here")
    try:
        return _tracking_view(esp)(request)
    except AnymailWebhookValidationFailure:  # missing or wrong basic auth (or the ESP's signature)
        response = HttpResponse("Missing or wrong webhook credentials.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Basic realm="ESP webhook"'
        return response


urlpatterns = [path("<slug:esp>/tracking/", tracking_webhook, name="esp-tracking-webhook")]
