"""The digest's "Recommended for you" and "Sellers worth a look" sections.

Registered with `notifications.digest_sections` from `RecommendationsConfig.ready()`. Each answers
for a whole batch of digest users in a fixed number of queries. Neither is news: a digest is not
sent only to recommend things, but one that is sent carries them. Every row links through a tracked
link, and the recommendations are recorded as shown in the digest.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from notifications.digest_sections import Section, Window

from . import links, services
from .models import Surface
from .sellers import SellerPick, sellers_for

MAX_RECOMMENDATIONS = 5


@dataclass(frozen=True)
class DigestRecommendation:
    """One recommended listing, as plain values the digest templates read."""

    listing_id: int
    rank: int
    title: str
    price: Decimal
    currency: str
    reason: str
    deal_score: float | None
    image_url: str
    url: str


def recommended(windows: Mapping[int, Window]) -> dict[int, list[DigestRecommendation]]:
    """{user id: their top recommendations}: the cached lists (recomputed when stale) for the batch."""
    now = max(w.end for w in windows.values())
    lists = services.lists_for(list(windows), now=now)
    top = {user_id: shown[:MAX_RECOMMENDATIONS] for user_id, shown in lists.items() if shown}
    return {
        user_id: [
            DigestRecommendation(
                listing_id=r.listing.pk,
                rank=r.rank,
                title=r.listing.title,
                price=r.listing.price,
                currency=r.listing.currency,
                reason=r.reason,
                deal_score=r.listing.deal_score,
                image_url=r.listing.image_url,
                url=links.click_url(user_id, r.listing.pk, Surface.DIGEST, r.rank),
            )
            for r in shown
        ]
        for user_id, shown in top.items()
    }


def record_sent(rows: Mapping[int, list[DigestRecommendation]]) -> None:
    shown = {user_id: [(r.listing_id, r.rank) for r in recs] for user_id, recs in rows.items()}
    services.record_shown_batch(shown, Surface.DIGEST)


def _seller_link(user_id: int, listing_id: int) -> str:
    return links.click_url(user_id, listing_id, Surface.DIGEST, None)


def sellers(windows: Mapping[int, Window]) -> dict[int, list[SellerPick]]:
    return sellers_for(list(windows), now=max(w.end for w in windows.values()), link=_seller_link)


RECOMMENDED = Section(
    key="recommendations.for_you",
    title="Recommended for you",
    order=20,
    rows=recommended,
    html_template="recommendations/email/digest_recommended.html.jinja",
    text_template="recommendations/email/digest_recommended.txt.jinja",
    news=False,
    sent=record_sent,
)

SELLERS = Section(
    key="recommendations.sellers",
    title="Sellers worth a look",
    order=30,
    rows=sellers,
    html_template="recommendations/email/digest_sellers.html.jinja",
    text_template="recommendations/email/digest_sellers.txt.jinja",
    news=False,
)
