from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from .charts import price_chart
from .filters import ListingFilter
from .models import Listing, ListingView
from .selectors import categories_in_tree_order

PAGE_SIZE = 24


def browse(request):
    """Search with filters; htmx requests get just the results fragment."""
    listing_filter = ListingFilter(request.GET, queryset=Listing.objects.select_related("category"))
    page = None
    if listing_filter.is_valid():
        paginator = Paginator(listing_filter.qs, PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": listing_filter,
        "form": listing_filter.form,
        "page": page,
        "query": query.urlencode(),
        "categories": [(c, "\u2003" * depth) for c, depth in categories_in_tree_order()],
    }
    template = "listings/_results.html" if request.htmx else "listings/browse.html"
    return render(request, template, context)


def listing_detail(request, pk: int):
    listing = get_object_or_404(Listing.objects.select_related("category__parent__parent__parent"), pk=pk)
    history = list(listing.price_points.values_list("recorded_at", "price"))
    if request.user.is_authenticated:
        ListingView.objects.create(user=request.user, listing=listing, session_key=request.session.session_key or "")
    context = {"listing": listing, "history": history, "chart": price_chart(history, timezone.now())}
    return render(request, "listings/detail.html", context)
