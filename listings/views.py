import hashlib
from datetime import datetime

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import cache_control

from accounts.geo import lookup_zip
from activity.log import Event, Kind, record_many
from activity.visits import visit

from .charts import CHART_SIZES, EMAIL_CHART_WIDTH, chart_png, price_chart
from .filters import DEFAULT_RADIUS_MI, ListingFilter
from .models import Listing, ListingView
from .selectors import categories_in_tree_order
from .suggestions import describe_search, widen_search

PAGE_SIZE = 24

CHART_MAX_AGE_S = 300  # a price change shows within minutes; a mail client's reloads cost nothing


def search_params(params: QueryDict, user) -> QueryDict:
    """The browse search, with a signed-in user's home ZIP when the URL names no ZIP at all.

    An explicit `zip=` (even empty: the user cleared it) is kept, so the ZIP can be removed.
    """
    home_zip = getattr(user, "home_zip", "")
    if "zip" in params or not home_zip or lookup_zip(home_zip) is None:
        return params
    params = params.copy()
    params["zip"] = home_zip
    return params


def browse(request):
    """Search with filters; htmx requests get just the results fragment."""
    params = search_params(request.GET, request.user)
    listing_filter = ListingFilter(params, queryset=Listing.objects.select_related("category"))
    page, searched, suggestions, no_listings = None, "", [], False
    if listing_filter.is_valid():
        paginator = Paginator(listing_filter.qs, PAGE_SIZE)
        page = paginator.get_page(params.get("page"))
        if not page.object_list:
            data = listing_filter.form.cleaned_data
            searched = describe_search(data, DEFAULT_RADIUS_MI)
            suggestions = widen_search(params, data, DEFAULT_RADIUS_MI)
            # Nothing matches a search with no filter: there is nothing at all yet.
            no_listings = not searched or not Listing.objects.filter(is_active=True).exists()
    query = params.copy()
    query.pop("page", None)
    context = {
        "filter": listing_filter,
        "form": listing_filter.form,
        "page": page,
        "query": query.urlencode(),
        "searched": searched,
        "suggestions": suggestions,
        "no_listings": no_listings,
        "categories": [(c, "\u2003" * depth) for c, depth in categories_in_tree_order()],
    }
    template = "listings/_results.html" if request.htmx else "listings/browse.html"
    return render(request, template, context)


def record_listing_view(request: HttpRequest, listing: Listing, now: datetime) -> None:
    """Log a view of `listing` in this request's visit, and the visit's start when it starts here.

    Anonymous visitors count for "deals viewed per session" too; one insert either way. The
    signed-in user's `ListingView` (what recommendations learn from) is kept, tied to the visit.
    """
    user_id = request.user.pk if request.user.is_authenticated else None
    session, started = visit(request, now)
    events = [Event(kind=Kind.LISTING_VIEWED, user_id=user_id, listing_id=listing.pk, session=session, created_at=now)]
    if started:
        events.insert(0, Event(kind=Kind.SESSION_STARTED, user_id=user_id, session=session, created_at=now))
    record_many(events)
    if user_id is not None:
        ListingView.objects.create(user_id=user_id, listing=listing, session_key=session, viewed_at=now)


def listing_detail(request, pk: int):
    listing = get_object_or_404(Listing.objects.select_related("category__parent__parent__parent"), pk=pk)
    history = list(listing.price_points.values_list("recorded_at", "price"))
    now = timezone.now()
    record_listing_view(request, listing, now)
    context = {"listing": listing, "history": history, "chart": price_chart(history, now)}
    return render(request, "listings/detail.html", context)


@cache_control(public=True, max_age=CHART_MAX_AGE_S)
def listing_chart_png(request, pk: int):
    """The price history as a PNG, for emails (no SVG, no JavaScript there); public like the listing page.

    Two queries whatever the history's length: the listing, then its price points.
    """
    width = request.GET.get("w", str(EMAIL_CHART_WIDTH))
    sizes = {str(w): size for w, size in CHART_SIZES.items()}
    if width not in sizes:
        return HttpResponseBadRequest(f"w must be one of {', '.join(sizes)}.", content_type="text/plain; charset=utf-8")
    width_px, height_px, pad, labels = sizes[width]
    listing = Listing.objects.filter(pk=pk).values("price", "first_seen_at").first()
    if listing is None:
        raise Http404("No such listing.")
    history = list(Listing(pk=pk).price_points.values_list("recorded_at", "price"))
    # Drawing is the cost (tens of ms for a long history), so an image is drawn once per history and
    # size for as long as browsers may keep it: a mail merge of thousands of drops draws each once.
    drawn = history or [(listing["first_seen_at"], listing["price"])]
    key = f"listing-chart:{width}:{hashlib.sha256(repr(drawn).encode()).hexdigest()}"
    png = cache.get(key)
    if png is None:
        # A listing stored before its first price point still has a price: draw it flat.
        chart = price_chart(drawn, timezone.now(), width_px, height_px, pad)
        png = chart_png(chart, labels=labels)
        cache.set(key, png, CHART_MAX_AGE_S)
    return HttpResponse(png, content_type="image/png")
