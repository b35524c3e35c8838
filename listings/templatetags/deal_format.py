"""Template filters for prices and deal scores: `listings.formatting`, for pages."""

from django import template

from listings import formatting

register = template.Library()
register.filter("money", formatting.money)
register.filter("deal_score", formatting.deal_score)


@register.inclusion_tag("listings/_score_badge.html")
def score_badge(score: float | None, explanation: str = "", inline: bool = False) -> dict:
    """The deal-score badge, coloured by its band and saying the band in words (not colour alone).

    `inline`: a bare span, "89% · great deal", for a heading that already says "Deal score"."""
    return {"score": score, "band": formatting.score_band(score), "explanation": explanation, "inline": inline}
