"""The listing page's "I bought this" toggle and "Why is this recommended?" link (listings must not
import recommendations; templates may load this).

{% load recommendation_tags %}
{% listing_actions listing %}   one query when signed in, none when signed out
"""

from django import template

from recommendations.models import Purchase
from recommendations.views import bought_context

register = template.Library()


@register.inclusion_tag("recommendations/_listing_actions.html", takes_context=True)
def listing_actions(context, listing) -> dict:
    request = context["request"]
    bought = request.user.is_authenticated and Purchase.objects.filter(user=request.user, listing=listing).exists()
    return {**bought_context(request, listing, bought), "csrf_token": context.get("csrf_token")}
