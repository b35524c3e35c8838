"""Notification pages: settings (each section saved through htmx), history, unsubscribe and tracked clicks.

Settings validate through the API's serializers (`api.SECTIONS`), so the page and the API agree on
what is valid. Unsubscribe and click links come from email: they work with no session, by a signed token.
"""

from pathlib import Path

import requests
from csp.decorators import csp_update
from django.conf import settings as django_settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from accounts.rate_limits import client_address

from . import (
    channels,
    digests,
    discord_webhook,
    links,
    phone,
    preferences,
    push_subscriptions,
    test_sends,
    tracking,
    wording,
)
from .api import SECTIONS
from .models import CHANNEL_LABELS, CHANNELS, Delivery, Frequency, Notification, Weekday

PAGE_SIZE = 25
SERVICE_WORKER = Path(django_settings.BASE_DIR) / "static" / "sw.js"


def section_data(section: str, post: QueryDict) -> dict:
    """What the browser sent for one section, as the API would receive it."""

    def time_or_none(name: str) -> str | None:
        return post.get(name, "").strip() or None

    if section == "channels":
        data = {"channels": post.getlist("channels")}
        if post.get("sms_urgent_only_shown"):  # the box is there only once SMS is set up
            data["sms_urgent_only"] = post.get("sms_urgent_only") == "on"
        return data
    if section == "frequency":
        return {
            "frequency": post.get("frequency", ""),
            "time": time_or_none("time"),
            "weekday": post.get("weekday") or None,
        }
    if section == "quiet-hours":
        on = post.get("quiet_hours") == "on"
        return {
            "start_time": time_or_none("start_time") if on else None,
            "end_time": time_or_none("end_time") if on else None,
            "urgent_in_quiet_hours": post.get("urgent_in_quiet_hours") == "on",
        }
    if section == "categories":
        return {"category_filters": post.getlist("category_filters")}
    return {"max_per_day": post.get("max_per_day", "")}


def settings_context(request: HttpRequest, *, sent: dict | None = None, **extra) -> dict:
    summary = preferences.preferences_summary(request.user)
    quiet = summary["quiet_hours"]
    problems = {a["channel"]: a["problem"] for a in summary["addresses"] if a["problem"]}
    values = {
        "channels": summary["channels"],
        "frequency": summary["frequency"],
        "time": summary["digest_time"],
        "weekday": summary["digest_weekday"],
        "quiet_hours": quiet["start_time"] is not None,
        "start_time": quiet["start_time"] or "",
        "end_time": quiet["end_time"] or "",
        "urgent_in_quiet_hours": quiet["urgent_in_quiet_hours"],
        "category_filters": summary["category_filters"],
        "max_per_day": summary["max_per_day"],
        "sms_urgent_only": summary["sms_urgent_only"],
    }
    if sent:  # an invalid section shows what the user sent, beside its errors
        values.update({key: value for key, value in sent.items() if value is not None})
        if "start_time" in sent:
            values["quiet_hours"] = sent["start_time"] is not None or sent["end_time"] is not None
    devices = push_subscriptions.devices(request.user)
    return {
        "summary": summary,
        "values": values,
        "phone": phone.phone_status(request.user),
        "push_devices": devices,
        "push_usable": any(device.usable for device in devices),
        "push_available": channels.get("push").configured(),
        "vapid_public_key": django_settings.VAPID_PUBLIC_KEY,
        "push_demo_service": django_settings.PUSH_DEMO_SERVICE_URL,
        "push_message": "",
        "test_result": None,
        "test_error": "",
        "phone_errors": {},
        "phone_message": "",
        "phone_typed": "",
        "discord": discord_webhook.webhook_status(request.user),
        "discord_errors": {},
        "discord_message": "",
        "discord_failed": False,
        "discord_typed": "",
        # Each channel with what stops it reaching the user, in words ("not verified yet"), or "".
        "channel_options": [(c, CHANNEL_LABELS[c], problems.get(c, "")) for c in CHANNELS],
        "frequency_options": Frequency.choices,
        "weekday_options": [(day.label.lower(), day.label) for day in Weekday],
        "errors": {},
        "saved": None,
        "saved_message": "",
        **extra,
    }


def saved_message(section: str, prefs, post: QueryDict) -> str:
    if section == "quiet-hours":
        return wording.quiet_hours_saved(
            prefs.quiet_hours_start, prefs.quiet_hours_end, prefs.urgent_in_quiet_hours, post.get("quiet_hours") == "on"
        )
    return "Saved."


@login_required
@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    return render(request, "notifications/settings.html", settings_context(request))


@login_required
@require_POST
def settings_section(request: HttpRequest, section: str) -> HttpResponse:
    """Save one section. htmx gets the section back (saved, or with its errors); a plain POST the page."""
    if section not in SECTIONS:
        return HttpResponse(status=404)
    data = section_data(section, request.POST)
    serializer = SECTIONS[section](preferences.preferences_for(request.user), data=data, context={"request": request})
    if serializer.is_valid():
        prefs = serializer.save()
        context = settings_context(request, saved=section, saved_message=saved_message(section, prefs, request.POST))
    else:
        # Show what the user sent, not what is stored, beside the errors (in the page's words).
        context = settings_context(request, errors=wording.page_errors(serializer.errors), sent=data)
    if request.htmx:
        return render(request, f"notifications/_section_{section.replace('-', '_')}.html", context)
    status = 200 if context["saved"] else 400
    return render(request, "notifications/settings.html", context, status=status)


PHONE_ACTIONS = ("send", "resend", "verify", "remove")


def phone_action(request: HttpRequest, action: str) -> tuple[dict, str]:
    """Do what the phone section's button asked: (errors by field, what to tell the user)."""
    user = request.user
    try:
        if action in ("send", "resend"):
            typed = request.POST.get("phone_number", "") if action == "send" else user.phone_number
            sent = phone.start_verification(user, typed, client_address(request))
            return {}, f"Code sent to {sent.masked}. It expires in 10 minutes."
        if action == "verify":
            verified = phone.verify(user, request.POST.get("otp", ""))
            return {}, f"Verified: texts can now go to {verified.masked}. Turn SMS on under Channels."
        phone.remove_phone(user)
        return {}, "Phone removed; SMS is off."
    except ValidationError as error:
        return error.message_dict, ""
    except (phone.CodeLimitReached, phone.SmsUnavailable) as refused:
        return {"non_field_errors": [str(refused)]}, ""


@login_required
@require_POST
def phone_section(request: HttpRequest) -> HttpResponse:
    """The phone section's forms: send a code, enter it, remove the phone. htmx gets the section back."""
    action = request.POST.get("action", "")
    if action not in PHONE_ACTIONS:
        errors, message = {"non_field_errors": ["Choose one of the section's buttons."]}, ""
    else:
        errors, message = phone_action(request, action)
    context = settings_context(
        request, phone_errors=errors, phone_message=message, phone_typed=request.POST.get("phone_number", "")
    )
    if request.htmx:  # htmx swaps only a 2xx: errors come back as the section showing them
        # The channels section changes with the phone (SMS set up or not): it comes along out of band.
        return render(request, "notifications/_section_phone.html", {**context, "with_channels": True})
    return render(request, "notifications/settings.html", context, status=400 if errors else 200)


DISCORD_ACTIONS = ("save", "test", "remove")


def discord_action(request: HttpRequest, action: str) -> tuple[dict, str, bool]:
    """Do what the Discord section's button asked: (errors by field, what to tell the user, whether it failed)."""
    user = request.user
    try:
        if action == "save":
            saved = discord_webhook.register(user, request.POST.get("webhook_url", ""))
            return {}, f"Saved: {saved.masked}. Nothing was sent; press “Send a test” to see it arrive.", False
        if action == "test":
            result = discord_webhook.send_test(user)
            return {}, result.answer, not result.sent
        discord_webhook.remove(user)
        return {}, "Webhook removed; Discord is off.", False
    except ValidationError as error:
        return error.message_dict, "", True
    except (test_sends.NotReachable, test_sends.TooManyTests) as refused:
        return {"non_field_errors": [str(refused)]}, "", True


@login_required
@require_POST
def discord_section(request: HttpRequest) -> HttpResponse:
    """The Discord section's forms: save a webhook, send a test to it, remove it. htmx gets the section back."""
    action = request.POST.get("action", "")
    if action not in DISCORD_ACTIONS:
        errors, message, failed = {"non_field_errors": ["Choose one of the section's buttons."]}, "", True
    else:
        errors, message, failed = discord_action(request, action)
    typed = request.POST.get("webhook_url", "") if errors else ""
    context = settings_context(
        request, discord_errors=errors, discord_message=message, discord_failed=failed, discord_typed=typed
    )
    if request.htmx:  # the channels section changes with the webhook (Discord set up or not): out of band
        return render(request, "notifications/_section_discord.html", {**context, "with_channels": True})
    return render(request, "notifications/settings.html", context, status=400 if errors else 200)


@login_required
@require_POST
def test_send(request: HttpRequest, channel: str) -> HttpResponse:
    """ "Send me a test" on one channel: the provider's answer shown in the section (htmx) or the page."""
    result, error = None, ""
    try:
        result = test_sends.send_test(request.user, channel)
    except (test_sends.NotReachable, test_sends.TooManyTests) as refused:
        error = str(refused)
    context = settings_context(request, test_result=result, test_error=error, test_channel=channel)
    if request.htmx:
        return render(request, "notifications/_section_test.html", context)
    return render(request, "notifications/settings.html", context, status=400 if error else 200)


@login_required
@require_POST
def push_section(request: HttpRequest) -> HttpResponse:
    """The push section's buttons: Remove a device, or (make run) add one on the local push service.
    Enabling this browser is its own script's work: it posts the subscription to the API."""
    if request.POST.get("action") == "demo" and django_settings.PUSH_DEMO_SERVICE_URL:
        try:
            push_subscriptions.add_demo_device(request.user, request.headers.get("User-Agent", ""))
            message = "Added a device on the local push service: its deals are printed where make run runs."
        except (requests.RequestException, push_subscriptions.InvalidSubscription) as error:
            message = f"The local push service did not answer: {error}"
    else:
        removed = push_subscriptions.remove(request.user, _int(request.POST.get("device")))
        message = "Removed: this browser gets no more pushes." if removed else "That device was already removed."
    context = settings_context(request, push_message=message)
    if request.htmx:
        return render(request, "notifications/_section_push.html", {**context, "with_channels": True})
    return render(request, "notifications/settings.html", context)


@login_required
@require_GET
def push_devices(request: HttpRequest) -> HttpResponse:
    """The push section again, after the page's script subscribed this browser through the API."""
    context = settings_context(request, push_message=request.GET.get("done") and "Push is on for this browser.")
    return render(request, "notifications/_section_push.html", {**context, "with_channels": True})


def _int(value: str | None) -> int:
    """A form's id as a number; 0 for anything else ("²" is a digit to str.isdigit, not to int)."""
    return int(value) if value and value.isascii() and value.isdecimal() and len(value) < 19 else 0


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """static/sw.js at the site's root: a service worker controls only the paths under its own URL."""
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"  # browsers re-check it for updates; no stale worker for a day
    return response


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    notifications = (
        Notification.objects.filter(user=request.user)
        .select_related("listing")
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("id")))
    )
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/history.html", {"page": page})


# The email's HTML as mail clients get it: its styles are inline (mail clients drop <link>), which the
# site's policy (style-src 'self') would block, leaving the preview unstyled. Styles only: no script.
@csp_update({"style-src": ["'unsafe-inline'"]})
@login_required
@require_GET
def digest_preview(request: HttpRequest) -> HttpResponse:
    """The next digest as it stands, rendered as the email (nothing is sent or marked)."""
    content, composed = digests.preview(request.user)
    if content.is_empty:
        return render(request, "notifications/digest_empty.html")
    return HttpResponse(composed.html)


@csrf_exempt  # RFC 8058: mail clients POST with no cookie and no CSRF token; the signed token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation (link scanners follow GETs); POST, one click, unsubscribes."""
    user_id = links.user_from_unsubscribe_token(token)
    if user_id is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "GET":
        return render(request, "notifications/unsubscribe.html", {"token": token})
    tracking.unsubscribe_email(user_id)
    return render(request, "notifications/unsubscribe.html", {"done": True})


@require_safe  # GET and HEAD, which link scanners send: logged as a machine's click
def click(request: HttpRequest, token: str) -> HttpResponse:
    """The tracked link in a notification: note the click, then show the listing."""
    found = links.click_from_token(token)
    notification = None
    if found:
        notification = tracking.record_click(
            *found,
            user_agent=request.headers.get("User-Agent", ""),
            ip=client_address(request),
            method=request.method,
        )
    if notification is None:
        return redirect("listings:browse")
    return redirect(reverse("listings:detail", args=[notification.listing_id]))


# A transparent 1×1 GIF: what a mail client shows for the digest's open pixel.
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """A digest's open pixel: note the open, and always answer the image (a bad token records nothing)."""
    digest_id = links.digest_from_open_token(token)
    if digest_id is not None:
        tracking.record_open(digest_id, user_agent=request.headers.get("User-Agent", ""), ip=client_address(request))
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"  # every open must reach us, not a cache
    return response
