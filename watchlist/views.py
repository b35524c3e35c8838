"""Watchlist pages: "My watchlist", a card's target edit and Remove (with Undo), the watch page, and
"Stop watching" from a message (no sign-in: the signed link is the proof).

htmx requests get the card or the button back; without JavaScript the same forms post and redirect.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dealalerts import undo
from listings.charts import PriceChart, price_chart
from listings.formatting import money
from listings.models import Listing
from listings.selectors import categories_in_tree_order

from . import links, selectors, services
from .forms import TargetForm
from .models import WatchlistItem

PAGE_SIZE = 20
UNDO_KIND = "watchlist"
REMOVED_KEY = "watchlist.removed"  # session: (title, undo token) of an item removed without JavaScript
CARD_CHART = (320, 64, 6)  # width, height, padding of a card's sparkline


@dataclass
class Card:
    item: WatchlistItem
    chart: PriceChart | None
    form: TargetForm

    @property
    def direction(self) -> str:
        change = self.item.listing.price - self.item.added_price
        return "down" if change < 0 else "up" if change > 0 else ""

    @property
    def change_text(self) -> str:
        """The change since added in words, e.g. "Down $38 (−10.0%) since you added it at $380"."""
        item, currency = self.item, self.item.listing.currency
        change = item.listing.price - item.added_price
        if not change:
            return f"Unchanged since you added it at {money(item.added_price, currency)}"
        percent = abs(selectors.change_percent(item))
        word, sign = ("Down", "−") if change < 0 else ("Up", "+")
        was = money(item.added_price, currency)
        return f"{word} {money(abs(change), currency)} ({sign}{percent:.1f}%) since you added it at {was}"


def card_for(item: WatchlistItem, now, form: TargetForm | None = None) -> Card:
    """A card's parts from an item read through `selectors.watchlist_items` (its history prefetched)."""
    history = [(point.recorded_at, point.price) for point in item.listing.history]
    width, height, pad = CARD_CHART
    if form is None:
        form = TargetForm(initial={"price_alert_threshold": item.price_threshold}, prefix_id=f"{item.pk}_")
    return Card(item, price_chart(history, now, width, height, pad), form)


def _back(request: HttpRequest, default: str) -> str:
    """A local path to return to (`next`), else `default`; never another site, never a view name."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return target if allowed and target.startswith("/") else default


@login_required
@require_GET
def watchlist_page(request: HttpRequest) -> HttpResponse:
    return render_page(request)


def render_page(request: HttpRequest, forms: dict[int, TargetForm] | None = None, status: int = 200) -> HttpResponse:
    """The page (or, for htmx, its list), sorted and filtered as asked; a bad parameter is shown, not a 500.

    Queries stay constant however many items: the count, the page's items with their listings, their
    price points, and the categories for the filter.
    """
    query = selectors.parse_query(request.GET)
    items = selectors.watchlist_items(request.user, query)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    forms = forms or {}
    cards = [card_for(item, now, forms.get(item.pk)) for item in page.object_list]
    filtered = query.category is not None or query.at_or_below_target
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "cards": cards,
        "query": params.urlencode(),
        "sort": query.sort,
        "sorts": [(name, label) for name, (label, _) in selectors.SORTS.items()],
        "category": query.category,
        "at_or_below_target": query.at_or_below_target,
        "errors": query.errors or {},
        "categories": [(c, "\u2003" * depth) for c, depth in categories_in_tree_order()],
        "filtered": filtered,
        "none_at_all": not cards and not filtered and page.number == 1,
    }
    if removed := request.session.pop(REMOVED_KEY, None):  # a removal without JavaScript: offer Undo here
        context["notice"] = removed_notice(*removed)
    template = "watchlist/_list.html" if request.htmx and not forms else "watchlist/page.html"
    return render(request, template, context, status=status)


def _users_item(request: HttpRequest, item_id: int) -> WatchlistItem:
    return get_object_or_404(selectors.watchlist_items(request.user), pk=item_id)


@login_required
@require_POST
def watchlist_target(request: HttpRequest, item_id: int) -> HttpResponse:
    """Change a card's target; htmx gets the card back, a plain form post goes back to the page."""
    item = _users_item(request, item_id)
    form = TargetForm(request.POST, prefix_id=f"{item.pk}_")
    if form.is_valid():
        try:
            services.set_threshold(item, form.cleaned_data["price_alert_threshold"])
        except services.WatchError as error:
            form.add_error("price_alert_threshold", error.message)
    if form.is_valid():
        if not request.htmx:
            messages.success(request, f"Target saved for “{item.listing.title}”.")
            return HttpResponseRedirect(_back(request, reverse("watchlist:page")))
        item = _users_item(request, item_id)
        return render(request, "watchlist/_card.html", {"card": card_for(item, timezone.now())})
    if request.htmx:
        return render(request, "watchlist/_card.html", {"card": card_for(item, timezone.now(), form)})
    return render_page(request, forms={item.pk: form}, status=400)


def removed_notice(title: str, token: str) -> undo.Notice:
    return undo.Notice(f"Removed “{title}” from your watchlist.", reverse("watchlist:restore"), token, "#watchlist")


@login_required
@require_POST
def watchlist_remove(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(WatchlistItem.objects.select_related("listing"), user=request.user, pk=item_id)
    token = undo.token_for(UNDO_KIND, request.user.pk, services.snapshot(item))
    services.unwatch(item)
    if not request.htmx:
        request.session[REMOVED_KEY] = (item.listing.title, token)
        return HttpResponseRedirect(_back(request, reverse("watchlist:page")))
    # The card becomes "Removed · Undo" in place, so the list does not jump under the thumb.
    return render(request, "watchlist/_removed.html", {"item_id": item_id, "title": item.listing.title, "token": token})


@login_required
@require_POST
def watchlist_restore(request: HttpRequest) -> HttpResponse:
    """Undo a removal: the item as it was, from the signed copy of its fields."""
    found = undo.load(UNDO_KIND, request.POST.get("token", ""), request.user.pk)
    item = None
    if found is None:
        said = "That item can no longer be put back."
    elif not undo.claim(UNDO_KIND, request.user.pk, found[0]):
        said = "It is already back on your watchlist."
    else:
        try:
            item = services.restore(request.user, found[1])
        except services.WatchError as error:
            undo.release(UNDO_KIND, request.user.pk, found[0])  # the user may make room and try again
            said = error.message
        else:
            said = "Back on your watchlist." if item else "That listing is gone; it can't be put back."
    if not request.htmx or item is None:
        if request.htmx:
            return render(request, "watchlist/_removed.html", {"said": said})
        messages.info(request, said)
        return redirect("watchlist:page")
    item = _users_item(request, item.pk)
    return render(request, "watchlist/_card.html", {"card": card_for(item, timezone.now())})


@login_required
@require_http_methods(["GET", "POST"])
def watch_listing(request: HttpRequest, listing_id: int) -> HttpResponse:
    """Watch a listing. GET only shows the form (messages' "Watch" links point here, and link scanners
    follow GETs); POST watches, then goes to the watchlist (htmx: the button, now "Watching")."""
    listing = get_object_or_404(Listing.objects.select_related("category"), pk=listing_id)
    item = WatchlistItem.objects.filter(user=request.user, listing=listing).first()
    # An empty POST is a Watch with no target: bind it anyway (`request.POST or None` would not).
    data = request.POST if request.method == "POST" else None
    form = TargetForm(data, initial={"price_alert_threshold": item and item.price_threshold})
    if request.method == "POST" and form.is_valid():
        try:
            item, created = services.watch(request.user, listing, form.cleaned_data["price_alert_threshold"])
        except services.WatchError as error:
            form.add_error(None if error.field == "listing_id" else "price_alert_threshold", error.message)
        else:
            if request.htmx:
                return render(request, "watchlist/_watch_button.html", button_context(request, listing, item))
            target = money(item.price_threshold, listing.currency) if item.price_threshold else "any drop"
            said = "Now watching" if created else "Still watching"
            messages.success(request, f"{said} “{listing.title}” · target {target}.")
            return redirect("watchlist:page")
    status = 400 if form.errors else 200
    if request.htmx:  # htmx swaps only a 2xx: errors come back as the button showing them
        return render(request, "watchlist/_watch_button.html", button_context(request, listing, None, form))
    return render(request, "watchlist/watch.html", {"listing": listing, "item": item, "form": form}, status=status)


def button_context(request: HttpRequest, listing: Listing, item: WatchlistItem | None, form=None) -> dict:
    """What `_watch_button.html` needs; the template tag builds the same for a page of cards."""
    return {
        "listing": listing,
        "item": item,
        "form": form or TargetForm(prefix_id=f"w{listing.pk}_"),
        "signed_in": request.user.is_authenticated,
        "next": request.POST.get("next") or reverse("listings:detail", args=[listing.pk]),
    }


# The signed token is the proof, as for unsubscribing: a cross-site POST without it removes nothing,
# and someone reading the email on a phone that blocks cookies can still stop watching.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def stop_watching(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation (link scanners and previews follow GETs); POST removes the item."""
    found = links.watch_from_stop_token(token)
    if found is None:
        return render(
            request, "watchlist/stop.html", {"invalid": True, "watchlist_url": reverse("watchlist:page")}, status=400
        )
    item_id, made_at = found
    item = WatchlistItem.objects.filter(pk=item_id).select_related("listing").first()
    if item is not None and links.made_at(item.created_at) != made_at:
        item = None  # not the watch the link was about (removed, and the id taken by another): leave it
    context = {"token": token, "item": item, "watchlist_url": reverse("watchlist:page")}
    if item is not None and request.method == "POST":
        services.unwatch(item)
        context["removed"] = True
    return render(request, "watchlist/stop.html", context)
