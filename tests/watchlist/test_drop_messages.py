"""A price drop told in every channel, through the real local peers: the headline first, the figures,
the chart in the email, and the "Stop watching" link (a plain deal carries "Watch" instead)."""

import html
from decimal import Decimal

import pytest
from django.test import Client

from alerts import services as alerts
from listings.models import Listing, PricePoint
from notifications import discord_webhook, push_subscriptions
from notifications.channels import twilio
from notifications.delivery import deliver
from notifications.models import Delivery, Kind, Notification, NotificationPreferences
from tests.factories import ListingFactory, sms_user
from watchlist import services

SITE = "https://deals.example.com"
HOOK_URL = "https://discord.com/api/webhooks/112233445566778899/Ab-cd_EF123"
CHROME_ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0.0.0 Mobile Safari/537.36"
HEADLINE = "ThinkPad T14 dropped to $310 (−18%, was $380) — below your $320 target"


@pytest.fixture
def site(settings):
    settings.SITE_URL = SITE


def everywhere(webpush_peer=None, **fields):
    """A user with email, SMS, Discord and (given the push peer) push all on."""
    user = sms_user(**fields)
    discord_webhook.register(user, HOOK_URL)
    channels = ["email", "sms", "discord"]
    if webpush_peer is not None:
        push_subscriptions.subscribe(user, push_subscriptions.parse(webpush_peer.subscribe()), CHROME_ANDROID)
        channels.append("push")
    NotificationPreferences.objects.filter(user=user).update(channels=channels)
    return user


def drop_for(user, title: str = "ThinkPad T14") -> Notification:
    """`user` watches a $380 listing with a $320 target; it is re-priced to $310 and checked."""
    listing = ListingFactory(title=title, price=Decimal(380), description="Works great.")
    services.watch(user, listing, Decimal(320))
    Listing.objects.filter(pk=listing.pk).update(price=Decimal(310))
    PricePoint.objects.create(listing=listing, price=Decimal(310), recorded_at=listing.first_seen_at)
    services.check_listings([listing.pk])
    return Notification.objects.get(user=user, kind=Kind.PRICE_DROP)


def send(notification: Notification, channel: str) -> None:
    row = Delivery.objects.get(notification=notification, channel=channel)
    assert deliver([row.pk]).sent == 1


def stop_url_of(notification: Notification) -> str:
    [source] = notification.sources
    assert source["stop_url"].startswith(f"{SITE}/watchlist/stop/")
    return source["stop_url"]


@pytest.mark.django_db
def test_the_drop_email_leads_with_the_headline_shows_the_figures_the_chart_and_stop_watching(site, postmark_peer):
    notification = drop_for(everywhere(email="dana@example.com"))
    assert notification.headline == HEADLINE
    send(notification, "email")
    [mail] = postmark_peer.messages
    assert mail["Subject"] == HEADLINE
    body = html.unescape(mail["HtmlBody"])
    assert HEADLINE in body and "Price drop" in body
    chart = f'src="{SITE}/listings/{notification.listing_id}/chart.png"'
    assert chart in body and 'width="520" height="191"' in body
    assert 'alt="Price history: Was $380, Now $310, Your target $320, Lowest since you watched $310"' in body
    assert f'href="{stop_url_of(notification)}"' in body and ">Stop watching</a>" in body
    assert "/watchlist/watch/" not in body
    text = mail["TextBody"]
    assert text.startswith(f"Price drop: {HEADLINE}") and "Was: $380\nNow: $310\nYour target: $320" in text
    assert f"Stop watching: {stop_url_of(notification)}" in text
    # The link works: it asks first (a GET removes nothing).
    path = stop_url_of(notification).removeprefix(SITE)
    assert "Stop watching “ThinkPad T14”?" in Client().get(path).content.decode()


@pytest.mark.django_db
def test_the_chart_in_the_email_is_served_as_a_png(site, postmark_peer):
    notification = drop_for(everywhere())
    send(notification, "email")
    response = Client().get(f"/listings/{notification.listing_id}/chart.png")
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.django_db
def test_the_drop_text_leads_with_the_news_in_one_gsm7_segment(site, twilio_peer):
    send(drop_for(everywhere()), "sms")
    [text] = twilio_peer.messages
    head, link = text["body"].split("\n")
    # Beside the tracked link there is no room for the target too: the main clause and the whole title stay.
    assert head == "Price drop: ThinkPad T14 dropped to $310 (-18%, was $380)"
    assert link.startswith(f"{SITE}/notifications/c/") and text["num_segments"] == 1


@pytest.mark.django_db
def test_a_long_title_is_cut_so_the_drop_still_fits_one_segment_and_the_news_stays(site, twilio_peer):
    title = "Lenovo ThinkPad T14 Gen 2 “business” laptop — 32 GB RAM, 1 TB SSD, 14 inch FHD, with dock and charger"
    send(drop_for(everywhere(), title=title), "sms")
    [text] = twilio_peer.messages
    head, _ = text["body"].split("\n")
    # How much of the title fits depends on the tracked link's length (the ids in it); the news never shrinks.
    prefix, suffix = "Price drop: ", "... dropped to $310 (-18%, was $380)"
    assert head.startswith(prefix) and head.endswith(suffix)
    kept = head[len(prefix) : -len(suffix)]
    assert len(kept) >= 10 and title.startswith(kept)
    assert text["num_segments"] == 1 and len(text["body"]) <= 160


@pytest.mark.django_db
def test_the_drop_on_discord_is_titled_by_the_headline_with_the_figures_as_fields_and_stop_watching(site, discord_peer):
    notification = drop_for(everywhere())
    send(notification, "discord")
    [sent] = discord_peer.messages
    [card] = sent["body"]["embeds"]
    assert card["title"] == HEADLINE and card["url"].startswith(f"{SITE}/notifications/c/")
    fields = {f["name"]: f["value"] for f in card["fields"]}
    assert list(fields) == ["Was", "Now", "Your target", "Lowest since you watched", "Watchlist"]
    assert fields["Was"] == "$380" and fields["Now"] == "$310"
    assert fields["Watchlist"] == f"[Stop watching]({stop_url_of(notification)})"


@pytest.mark.django_db
def test_the_drop_push_is_titled_by_the_headline_and_offers_stop_watching(site, webpush_peer):
    notification = drop_for(everywhere(webpush_peer))
    send(notification, "push")
    [pushed] = webpush_peer.wait_for_pushes(1)
    deal = pushed.payload
    assert deal["title"] == HEADLINE
    assert deal["body"].startswith("Was: $380 · Now: $310 · Your target: $320")
    assert deal["url"].startswith(f"{SITE}/notifications/c/")
    assert deal["actions"] == [{"action": "stop-watching", "title": "Stop watching", "url": stop_url_of(notification)}]
    # Other news than the listing's match: its own tag and Topic, so neither replaces the other on the device.
    assert deal["tag"] == f"listing-{notification.listing_id}-drop:310.00"
    assert pushed.topic != f"listing-{notification.listing_id}" and len(pushed.topic) <= 32


@pytest.mark.django_db
def test_a_plain_deal_is_unchanged_but_carries_a_watch_link_in_every_channel(
    site, postmark_peer, discord_peer, twilio_peer
):
    user = everywhere(email="dana@example.com")
    alerts.create_rule(user, name="ThinkPads", keywords=["thinkpad"], max_price=Decimal(500))
    listing = ListingFactory(title="ThinkPad T14", price=Decimal(300))
    alerts.match_listings([listing.pk])
    notification = Notification.objects.get(user=user, kind=Kind.DEAL_MATCH)
    watch_url = f"{SITE}/watchlist/watch/{listing.pk}/"
    for channel in ("email", "discord", "sms"):
        send(notification, channel)

    [mail] = postmark_peer.messages
    assert mail["Subject"] == "New deal: ThinkPad T14 — $300"
    assert f'href="{watch_url}"' in mail["HtmlBody"] and "chart.png" not in mail["HtmlBody"]
    assert f"Watch: {watch_url}" in mail["TextBody"]
    [card] = discord_peer.messages[0]["body"]["embeds"]
    assert card["title"] == "ThinkPad T14" and card["fields"][-1]["value"] == f"[Watch]({watch_url})"
    [text] = twilio_peer.messages
    assert text["body"].startswith("Deal: ThinkPad T14 - $300\n")  # no room for more links in a text


@pytest.mark.django_db
def test_a_sale_says_so_plainly_and_offers_stop_watching(site, postmark_peer, twilio_peer):
    user = everywhere(email="dana@example.com")
    listing = ListingFactory(title="Trek bike", price=Decimal(400))
    services.watch(user, listing, None)
    Listing.objects.filter(pk=listing.pk).update(is_active=False)
    services.check_listings([listing.pk])
    notification = Notification.objects.get(user=user, kind=Kind.LISTING_SOLD)
    send(notification, "email")
    [mail] = postmark_peer.messages
    assert mail["Subject"] == "Trek bike has sold or was taken down; it stays in your watchlist, marked sold"
    assert "Sold" in mail["HtmlBody"] and "Last price" in mail["HtmlBody"]
    assert f'href="{stop_url_of(notification)}"' in mail["HtmlBody"] and "chart.png" not in mail["HtmlBody"]


def test_with_room_beside_the_link_the_whole_headline_goes_in_the_text():
    body = twilio.sms_text(
        "ThinkPad T14",
        "dropped to $310 (−18%, was $380) — below your $320 target",
        "https://d.co/c/1/",
        prefix="Price drop",
        sep=" ",
    )
    assert (
        body == "Price drop: ThinkPad T14 dropped to $310 (-18%, was $380) - below your $320 target\nhttps://d.co/c/1/"
    )
