"""The For you page, "why this?", "Not interested" (with Undo), "I bought this", and tracked clicks.

htmx requests get a card or a button back; without JavaScript the same forms post and redirect.
`services` decides; these views only read the request and pick the template.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.rate_limits import client_address
from dealalerts import undo
from dealalerts.serializers import MAX_ID
from listings.models import Listing

from . import links, services
from .models import Dismissal, Purchase, Surface

DISMISSED_KEY = "recommendations.dismissed"  # session: (title, listing id) of a card dismissed without JavaScript


@dataclass(frozen=True)
class Card:
    recommendation: services.Recommendation
    url: str  # the tracked link to the listing page

    @property
    def listing(self) -> Listing:
        return self.recommendation.listing


def card_for(user_id: int, recommendation: services.Recommendation) -> Card:
    listing_id = recommendation.listing.pk
    return Card(recommendation, links.click_path(user_id, listing_id, Surface.PAGE, recommendation.rank))


def _back(request: HttpRequest, default: str) -> str:
    """A local path to return to (`next`), else `default`; never another site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return target if allowed and target.startswith("/") else default


def _listing_or_404(listing_id: int, queryset=Listing.objects) -> Listing:
    if listing_id > MAX_ID:  # the database's integer cannot hold it: no such listing, not a 500
        raise Http404("No such listing.")
    return get_object_or_404(queryset, pk=listing_id)


@login_required
@require_GET
def for_you(request: HttpRequest) -> HttpResponse:
    """Ten cards, each with its reason. The impressions are recorded here, once per page."""
    shown = services.recommendations_for(request.user, surface=Surface.PAGE)
    cards = [card_for(request.user.pk, r) for r in shown]
    context = {"cards": cards, "listings": [card.listing for card in cards]}
    if dismissed := request.session.pop(DISMISSED_KEY, None):  # dismissed without JavaScript: offer Undo here
        context["notice"] = dismissed_notice(*dismissed)
    return render(request, "recommendations/page.html", context)


def dismissed_notice(title: str, listing_id: int) -> undo.Notice:
    return undo.Notice(
        f"“{title}” won't be recommended again.",
        reverse("recommendations:interested", args=[listing_id]),
        "",
        f"#rec-{listing_id}",
    )


@login_required
@require_POST
def not_interested(request: HttpRequest, listing_id: int) -> HttpResponse:
    listing = _listing_or_404(listing_id)
    services.dismiss(request.user, listing)
    if not request.htmx:
        request.session[DISMISSED_KEY] = (listing.title, listing.pk)
        return HttpResponseRedirect(_back(request, reverse("recommendations:page")))
    # The card becomes "Not interested · Undo" in place, so the list does not jump under the thumb.
    return render(request, "recommendations/_dismissed.html", {"listing": listing})


@login_required
@require_POST
def interested_again(request: HttpRequest, listing_id: int) -> HttpResponse:
    """Undo "Not interested": the card comes back where it was, if it is still among the user's picks."""
    if listing_id > MAX_ID or not Dismissal.objects.filter(user=request.user, listing_id=listing_id).exists():
        raise Http404("Not a listing you said you were not interested in.")
    services.undo_dismissal(request.user, listing_id)
    if not request.htmx:
        messages.info(request, "Back in your recommendations.")
        return HttpResponseRedirect(_back(request, reverse("recommendations:page")))
    # Not recorded as shown again: the page recorded this card's impression when it was rendered.
    found = [r for r in services.lists_for([request.user.pk])[request.user.pk] if r.listing.pk == listing_id]
    if not found:
        return render(request, "recommendations/_dismissed.html", {"said": "Back in your recommendations."})
    return render(request, "recommendations/_card.html", {"card": card_for(request.user.pk, found[0])})


@login_required
@require_GET
def why(request: HttpRequest, listing_id: int) -> HttpResponse:
    """Each signal's part in a listing's score for this user: any active listing, recommended or not."""
    listing = _listing_or_404(listing_id, Listing.objects.select_related("category").filter(is_active=True))
    explanation = services.explain(request.user, listing)
    largest = max((abs(s["weight"]) for s in explanation.signals), default=0) or 1
    signals = [
        {**s, "size": abs(s["weight"]), "negative": s["weight"] < 0, "max": largest} for s in explanation.signals
    ]
    context = {"listing": listing, "reason": explanation.reason, "signals": signals}
    return render(request, "recommendations/why.html", context)


# HEAD too: link scanners probe with it, and their probe is logged as a machine's click.
@require_http_methods(["GET", "HEAD"])
def go(request: HttpRequest, token: str) -> HttpResponse:
    """A tracked link: count the click, then the listing's page here. No session needed (emails)."""
    click = links.click_from_token(token)
    if click is None:
        raise Http404("This link is damaged or too old.")
    # A user or listing deleted since the link was made: nothing to count, nowhere to go.
    if not User.objects.filter(pk=click.user_id).exists() or not Listing.objects.filter(pk=click.listing_id).exists():
        raise Http404("That listing is gone.")
    source = services.ClickSource(request.headers.get("User-Agent", ""), client_address(request), request.method)
    services.record_click(click.user_id, click.listing_id, click.surface, click.rank, source)
    return redirect("listings:detail", pk=click.listing_id)


def bought_context(request: HttpRequest, listing: Listing, bought: bool) -> dict:
    """What `_bought_button.html` needs; the template tag builds the same on the listing page."""
    return {
        "listing": listing,
        "bought": bought,
        "signed_in": request.user.is_authenticated,
        "next": reverse("listings:detail", args=[listing.pk]),
    }


@login_required
@require_POST
def mark_bought(request: HttpRequest, listing_id: int) -> HttpResponse:
    listing = _listing_or_404(listing_id)
    services.mark_bought(request.user, listing)
    if request.htmx:
        return render(request, "recommendations/_bought_button.html", bought_context(request, listing, True))
    messages.success(request, f"Marked “{listing.title}” as bought: it won't be recommended again.")
    return HttpResponseRedirect(_back(request, reverse("listings:detail", args=[listing.pk])))


@login_required
@require_POST
def unmark_bought(request: HttpRequest, listing_id: int) -> HttpResponse:
    """Not bought after all; 404 when this user had not marked it."""
    if listing_id > MAX_ID:
        raise Http404("No such purchase.")
    purchase = get_object_or_404(Purchase.objects.select_related("listing"), user=request.user, listing_id=listing_id)
    services.unmark_bought(request.user, listing_id)
    if request.htmx:
        return render(request, "recommendations/_bought_button.html", bought_context(request, purchase.listing, False))
    messages.info(request, f"“{purchase.listing.title}” is no longer marked as bought.")
    return HttpResponseRedirect(_back(request, reverse("listings:detail", args=[listing_id])))
