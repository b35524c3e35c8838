"""What a notification says: one `Message` per send, built here once; each channel renders it for its medium."""

from django.urls import reverse

from listings import formatting

from . import emails, links
from .channels import LongForm, Message
from .models import Kind, Notification

NEWS_WORDS = {Kind.PRICE_DROP: "Price drop", Kind.LISTING_SOLD: "Sold"}
SUBJECT_TITLE_CHARS = 70  # a listing's title in a subject or a push title, before "…"


def deal_context(notification: Notification, channel: str, *, view_url: str = "") -> dict:
    """What the deal email's templates read; `view_url`: the tracked link, when already made."""
    listing = notification.listing
    headline = notification.headline
    facts = deal_facts(notification)
    return {
        "notification": notification,
        "listing": listing,
        "sources": notification.sources,
        "rule_names": notification.source_names,
        "headline": headline,
        "short_headline": short_headline(headline, listing.title),
        "news": NEWS_WORDS.get(notification.kind, ""),
        "facts": facts,
        "actions": deal_actions(notification),
        # The price history as a PNG (mail clients show no SVG), with the news's prices in words.
        "chart_url": chart_url(listing.id) if notification.kind == Kind.PRICE_DROP else "",
        "chart_alt": "Price history: " + ", ".join(f"{label} {value}" for label, value in facts),
        "view_url": view_url or links.click_url(notification.id, channel),
        "listing_url": links.absolute(reverse("listings:detail", args=[listing.id])),
        "settings_url": links.settings_url(),
        "unsubscribe_url": links.unsubscribe_url(notification.user_id),
    }


def chart_url(listing_id: int) -> str:
    return links.absolute(reverse("listings:chart", args=[listing_id]))


def short_headline(headline: str, title: str) -> str:
    """The headline with a long listing title cut (subjects, push titles): the news after it stays whole."""
    if len(title) <= SUBJECT_TITLE_CHARS or not headline.startswith(title):
        return headline
    return title[: SUBJECT_TITLE_CHARS - 1].rstrip() + "…" + headline[len(title) :]


def deal_actions(notification: Notification) -> tuple[tuple[str, str], ...]:
    """News about a watched listing offers to stop watching it (the watchlist signed that link into
    the source); a deal offers to watch it, while it is for sale."""
    stop_url = next((s["stop_url"] for s in notification.sources if s.get("stop_url")), "")
    if stop_url:
        return (("Stop watching", stop_url),)
    if notification.listing.is_active:
        return (("Watch", links.watch_url(notification.listing_id)),)
    return ()


def deal_message(notification: Notification, channel: str, key: str, *, delivery_id: int | None = None) -> Message:
    """A deal on one channel: its link is tracked per channel, `key` (the delivery's dedup key) identifies the send.

    The email templates are rendered only if the channel reads the long form (see `Message`).
    """
    listing = notification.listing
    price = formatting.money(listing.price, listing.currency)
    view_url = links.click_url(notification.id, channel)

    def long_form() -> LongForm:
        return _long_form(emails.compose("deal", deal_context(notification, channel, view_url=view_url)))

    headline = notification.headline
    return Message(
        kind="deal",
        long_form=long_form,
        short=short_headline(headline, listing.title) or f"{listing.title} - {price}",
        title=listing.title,
        price=price,
        link=view_url,
        image=listing.image_url or "",
        urgent=notification.urgent,
        unsubscribe_url=links.unsubscribe_url(notification.user_id),
        description=listing.description,
        facts=deal_facts(notification),
        footer=f"{listing.get_source_display()} · {_alerts(notification)}",
        timestamp=notification.created_at,
        score=listing.deal_score,
        # One topic per piece of news: a price drop must not replace the listing's match on the device.
        topic=f"listing-{listing.pk}" if notification.news == "match" else f"listing-{listing.pk}-{notification.news}",
        headline=headline,
        news=NEWS_WORDS.get(notification.kind, "") if headline else "",
        actions=deal_actions(notification),
        metadata={
            "dedup_key": key,
            "delivery_id": str(delivery_id or ""),
            "kind": "deal",
            "listing_id": str(listing.pk),
            "user_id": str(notification.user_id),
        },
    )


def deal_facts(notification: Notification) -> tuple[tuple[str, str], ...]:
    """The facts a card shows about a deal, in order; a fact the listing lacks is left out.

    A price drop's are its producer's figures (was, now, the target, the lowest); a sale's, the last price.
    """
    listing = notification.listing
    price = formatting.money(listing.price, listing.currency)
    if notification.kind == Kind.LISTING_SOLD:
        return (("Last price", price),)
    news_facts = [tuple(fact) for s in notification.sources for fact in s.get("facts", ())]
    if notification.kind == Kind.PRICE_DROP and news_facts:
        return tuple((str(label), str(value)) for label, value in news_facts)
    facts = [("Price", price)]
    if listing.deal_score is not None:
        score = formatting.deal_score(listing.deal_score)
        explained = f": {listing.deal_score_explanation}" if listing.deal_score_explanation else ""
        facts.append(("Deal score", f"{score}{explained}"))
    if listing.condition:
        facts.append(("Condition", listing.get_condition_display()))
    if listing.zip_code:
        facts.append(("Where", f"ZIP {listing.zip_code}"))
    whys = [
        f"“{s.get('name', '')}”: {s['why']}" if s.get("why") else f"“{s.get('name', '')}”" for s in notification.sources
    ]
    if whys:
        facts.append(("Why", "; ".join(whys)))
    return tuple(facts)


def _alerts(notification: Notification) -> str:
    names = [name for name in notification.source_names if name]
    if not names:
        return "Deal Alerts"
    return f"alert{'s' if len(names) > 1 else ''}: {', '.join(names)}"


def composed_message(kind: str, composed: emails.Composed, *, user_id: int, metadata: dict[str, str]) -> Message:
    """An email composed from templates (a digest, a notice) as a `Message`."""
    return Message(
        kind=kind,
        long_form=lambda: _long_form(composed),
        unsubscribe_url=links.unsubscribe_url(user_id),
        metadata={"kind": kind, "user_id": str(user_id), **metadata},
    )


def _long_form(composed: emails.Composed) -> LongForm:
    return LongForm(composed.subject, composed.text, composed.html)
