"""Twilio's webhooks: texts people send us (STOP, START, HELP) and each text's fate (status callbacks).

Served only when TWILIO_AUTH_TOKEN is set, and only to requests signed with it (`X-Twilio-Signature`
over the URL Twilio called and the form fields): anything else is a 403 and changes nothing. The
URL is rebuilt from SITE_URL, the address Twilio was given, not from the Host header a proxy may
have rewritten.
"""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import sms
from .channels import twilio


def _signed_by_twilio(request: HttpRequest) -> bool:
    if not settings.TWILIO_AUTH_TOKEN:
        raise Http404("No Twilio webhooks here")
    url = settings.SITE_URL.rstrip("/") + request.get_full_path()
    return twilio.valid_signature(url, request.POST, request.headers.get("X-Twilio-Signature", ""))


@csrf_exempt  # Twilio posts from its servers; the signature, not a cookie, authenticates it
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    if not _signed_by_twilio(request):
        return HttpResponseForbidden("Missing or wrong X-Twilio-Signature.\n", content_type="text/plain")
    reply = sms.received(request.POST.get("From", ""), request.POST.get("Body", ""))
    return HttpResponse(twilio.twiml_reply(reply.text), content_type="text/xml")


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    if not _signed_by_twilio(request):
        return HttpResponseForbidden("Missing or wrong X-Twilio-Signature.\n", content_type="text/plain")
    sms.status_reported(
        request.GET.get("d", ""),
        request.POST.get("MessageSid", ""),
        request.POST.get("MessageStatus", ""),
        request.POST.get("ErrorCode", ""),
    )
    return HttpResponse(status=204)


urlpatterns = [
    path("sms/", inbound, name="twilio-inbound"),
    path("status/", status, name="twilio-status"),
]
