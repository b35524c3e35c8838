"""Watchlist pages reached from a message: "Stop watching" (no sign-in: the signed link is the proof)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import links, services
from .models import WatchlistItem

WATCHLIST_PATH = "/watchlist/"  # the watchlist page (its view lives beside this one)


# The signed token is the proof, as for unsubscribing: a cross-site POST without it removes nothing,
# and someone reading the email on a phone that blocks cookies can still stop watching.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def stop_watching(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation (link scanners and previews follow GETs); POST removes the item."""
    found = links.watch_from_stop_token(token)
    if found is None:
        return render(request, "watchlist/stop.html", {"invalid": True, "watchlist_url": WATCHLIST_PATH}, status=400)
    user_id, listing_id = found
    item = WatchlistItem.objects.filter(user_id=user_id, listing_id=listing_id).select_related("listing").first()
    context = {"token": token, "item": item, "watchlist_url": WATCHLIST_PATH}
    if item is not None and request.method == "POST":
        services.unwatch(item)
        context["removed"] = True
    return render(request, "watchlist/stop.html", context)
