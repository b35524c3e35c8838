"""What the browse page says when a search finds nothing: the search in words, and ways to widen it.

Pure: cleaned filter values and the query parameters in, words and query strings out.
"""

from dataclasses import dataclass

from django.http import QueryDict

from .formatting import deal_score, money
from .models import Condition

RADIUS_STEPS = (50, 100, 250, 500)  # "search wider" offers the next of these (the maximum radius is 500)


@dataclass(frozen=True)
class Suggestion:
    label: str
    query: str  # the browse page's query string, without "?"


def describe_search(data: dict, default_radius: int) -> str:
    """The search in words: '“road bike” in Bikes, under $500, within 25 miles of 94103', or
    'your filters: in Bikes, under $500' without keywords; "" for no search at all."""
    parts = []
    if data.get("category"):
        parts.append(f"in {data['category'].name}")
    if data.get("condition"):
        parts.append(f"in {Condition(data['condition']).label.lower()} condition")
    low, high = data.get("min_price"), data.get("max_price")
    if low is not None and high is not None:
        parts.append(f"{money(low)}–{money(high)}")
    elif high is not None:
        parts.append(f"under {money(high)}")
    elif low is not None:
        parts.append(f"over {money(low)}")
    if data.get("zip"):
        parts.append(f"within {data.get('radius_mi') or default_radius:g} miles of {data['zip']}")
    if data.get("min_deal_score") is not None:
        parts.append(f"with a deal score of at least {deal_score(data['min_deal_score'])}")
    keywords = (data.get("q") or "").strip()
    if keywords:
        return " ".join([f"“{keywords}”", ", ".join(parts)]).strip()
    return f"your filters: {', '.join(parts)}" if parts else ""


def _without(params: QueryDict, *names: str, **values: str) -> str:
    query = params.copy()
    for name in ("page", *names):
        query.pop(name, None)
    for name, value in values.items():
        query[name] = value
    return query.urlencode()


def widen_search(params: QueryDict, data: dict, default_radius: int) -> list[Suggestion]:
    """Ways to find something, each dropping or widening one filter of the search."""
    found: list[Suggestion] = []
    if data.get("zip"):
        radius = float(data.get("radius_mi") or default_radius)
        wider = next((step for step in RADIUS_STEPS if step > radius), None)
        if wider is not None:
            found.append(Suggestion(f"Search within {wider} miles", _without(params, radius_mi=str(wider))))
        # zip="" stays explicit, or a signed-in user's home ZIP would fill it again; sorting by
        # distance needs a ZIP, so it goes too.
        drop = ("radius_mi", "sort") if params.get("sort") == "distance" else ("radius_mi",)
        found.append(Suggestion("Search everywhere", _without(params, *drop, zip="")))
    if data.get("min_price") is not None or data.get("max_price") is not None:
        found.append(Suggestion("Any price", _without(params, "min_price", "max_price")))
    if data.get("min_deal_score") is not None:
        found.append(Suggestion("Any deal score", _without(params, "min_deal_score")))
    if data.get("condition"):
        found.append(Suggestion("Any condition", _without(params, "condition")))
    if data.get("category"):
        found.append(Suggestion("All categories", _without(params, "category")))
    if (data.get("q") or "").strip():
        found.append(Suggestion("Clear the keywords", _without(params, "q")))
    return found
