"""The Watch button for pages of other apps (listings must not import watchlist; templates may load this).

{% load watchlist_tags %}
{% watched_items page.object_list as watched %}   one query for the whole page (none when signed out)
{% watch_button listing watched %}                 "Watch" with an optional target, or "Watching · target $320"
{% watch_button listing watched compact=True %}    the same on one row, for a card
"""

from django import template

from watchlist import selectors
from watchlist.views import button_context

register = template.Library()


@register.simple_tag(takes_context=True)
def watched_items(context, listings) -> dict:
    """The signed-in user's items among these listings (or this one listing), by listing id."""
    request = context.get("request")
    if request is None:
        return {}
    if hasattr(listings, "pk"):
        listings = [listings]
    return selectors.watched_listing_ids(request.user, [listing.pk for listing in listings])


@register.inclusion_tag("watchlist/_watch_button.html", takes_context=True)
def watch_button(context, listing, watched: dict | None = None, compact: bool = False) -> dict:
    """`compact`: one row for a browse card (no visible label or help); the listing page shows both."""
    item = (watched or {}).get(listing.pk)
    return {
        **button_context(context["request"], listing, item),
        "compact": compact,
        "csrf_token": context.get("csrf_token"),
    }
