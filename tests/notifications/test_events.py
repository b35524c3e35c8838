"""What the notifications app writes to the event log, through the real providers' local peers: sends per
channel and provider, tracked clicks (people and scanners), retries, failures and fallbacks, digests sent,
opened by a pixel and clicked, the ESP's events once each, unsubscribes, and SMS opt-ins and opt-outs."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from activity.models import Event, Kind
from notifications import digests, links, sms
from notifications.delivery import deliver
from notifications.events import DealEvent, RuleSource, notify
from notifications.models import Delivery, Digest, Notification
from tests.factories import ListingFactory, UserFactory, sms_user
from tests.notifications.test_digests import TICK, digest_user, hold
from tests.notifications.test_discord import discord_user
from tests.notifications.test_esp_webhook import AUTH, bounce, post, sent_delivery
from tests.notifications.test_esp_webhook import webhook as webhook
from tests.notifications.test_phone_api import NUMBER, last_code
from tests.notifications.test_push import push_user

PERSON = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"
SOURCE = RuleSource(5, "Cheap ThinkPads", 'mentions "thinkpad"')


def events(kind: str) -> list[Event]:
    return list(Event.objects.filter(kind=kind).order_by("id"))


def path_of(url: str) -> str:
    return urlsplit(url).path


def deal_on(channel: str, request) -> tuple[Notification, str, str]:
    """A deal sent on `channel` through its peer: the notification, the link the person received, the provider."""
    if channel == "email":
        user, peer = UserFactory(), request.getfixturevalue("postmark_peer")
    elif channel == "sms":
        peer = request.getfixturevalue("twilio_peer")
        user = sms_user()
    elif channel == "discord":
        peer = request.getfixturevalue("discord_peer")
        user = discord_user()
    else:
        peer = request.getfixturevalue("webpush_peer")
        user = push_user(peer)
    [notification] = notify([DealEvent(user.pk, ListingFactory().pk, SOURCE, channels=(channel,))])
    row = Delivery.objects.get(notification=notification, channel=channel)
    assert deliver([row.pk]).sent == 1
    # Read a minute later, as people do: an email link followed within seconds is a mail filter's.
    Delivery.objects.filter(pk=row.pk).update(sent_at=timezone.now() - timedelta(minutes=1))
    if channel == "email":
        link = re.search(r'href="([^"]*/notifications/c/[^"]+)"', peer.messages[-1]["HtmlBody"]).group(1)
        provider = "postmark"
    elif channel == "sms":
        link, provider = peer.messages[-1]["body"].split("\n")[1], "twilio"
    elif channel == "discord":
        link, provider = peer.messages[-1]["body"]["embeds"][0]["url"], "discord"
    else:
        link, provider = peer.wait_for_pushes(1)[0].payload["url"], urlsplit(peer.url).hostname
    return notification, link, provider


@pytest.mark.django_db
@pytest.mark.parametrize("channel", ["email", "sms", "discord", "push"])
def test_each_channel_logs_its_send_and_its_link_is_the_tracked_redirect(channel, request, client):
    notification, link, provider = deal_on(channel, request)

    [sent] = events(Kind.NOTIFICATION_SENT)
    assert (sent.channel, sent.provider, sent.ref_id, sent.user_id) == (
        channel,
        provider,
        notification.pk,
        notification.user_id,
    )
    assert path_of(link).startswith("/notifications/c/")

    response = client.get(path_of(link), HTTP_USER_AGENT=PERSON)

    assert response.status_code == 302
    [clicked] = events(Kind.NOTIFICATION_CLICKED)
    assert (clicked.channel, clicked.ref_id, clicked.machine, clicked.first_human) == (
        channel,
        notification.pk,
        False,
        True,
    )
    assert clicked.user_agent == PERSON and clicked.delay_seconds is not None
    notification.refresh_from_db()
    assert notification.clicked_at is not None


@pytest.mark.django_db
def test_a_scanner_first_then_the_person_then_the_person_again(client, postmark_peer):
    notification, link, _ = deal_on("email", _Request(postmark_peer=postmark_peer))

    client.head(path_of(link), HTTP_USER_AGENT=PERSON)  # a HEAD probe is a machine whatever it says
    notification.refresh_from_db()
    assert notification.clicked_at is None  # a scanner is not the user's click
    client.get(path_of(link), HTTP_USER_AGENT=PERSON)
    client.get(path_of(link), HTTP_USER_AGENT=PERSON)

    scan, first, again = events(Kind.NOTIFICATION_CLICKED)
    assert (scan.machine, scan.repeat, scan.first_human) == (True, False, False)
    assert (first.machine, first.repeat, first.first_human) == (False, True, True)
    assert (again.machine, again.repeat, again.first_human) == (False, True, False)
    notification.refresh_from_db()
    assert notification.clicked_at is not None


class _Request:
    """`deal_on` asks for peers by fixture name; this hands over ones a test already has."""

    def __init__(self, **peers) -> None:
        self.peers = peers

    def getfixturevalue(self, name: str):
        return self.peers[name]


@pytest.mark.django_db
def test_retries_failures_and_fallbacks_name_the_channel_the_provider_and_the_error(twilio_peer, postmark_peer):
    user = sms_user()
    [busy] = notify([DealEvent(user.pk, ListingFactory().pk, SOURCE, channels=("sms",))])
    twilio_peer.fail_next("server_error")
    assert deliver([Delivery.objects.get(notification=busy, channel="sms").pk]).retrying == 1
    [retried] = events(Kind.NOTIFICATION_RETRIED)
    assert (retried.channel, retried.provider, retried.ref_id) == ("sms", "twilio", busy.pk) and retried.detail

    [landline] = notify([DealEvent(user.pk, ListingFactory().pk, SOURCE, channels=("sms",))])
    twilio_peer.fail_next("not_mobile")
    assert deliver([Delivery.objects.get(notification=landline, channel="sms").pk]).failed == 1

    [failed] = events(Kind.NOTIFICATION_FAILED)
    [fell_back] = events(Kind.NOTIFICATION_FELL_BACK)
    assert (failed.channel, failed.provider, failed.ref_id) == ("sms", "twilio", landline.pk)
    assert "21614" in failed.detail
    assert (fell_back.channel, fell_back.ref_id) == ("sms", landline.pk)


@pytest.mark.django_db
def test_a_digest_is_logged_sent_its_pixel_tells_proxy_opens_from_the_readers_and_its_clicks_count(
    client, postmark_peer
):
    user = digest_user()
    hold(user, 0.8, 0.6)
    assert digests.send_due_digests(TICK).sent == 1
    digest = Digest.objects.get()
    Digest.objects.filter(pk=digest.pk).update(sent_at=timezone.now() - timedelta(minutes=5))
    [sent] = events(Kind.DIGEST_SENT)
    assert (sent.ref_id, sent.user_id, sent.channel) == (digest.pk, user.pk, "email")
    html = postmark_peer.messages[-1]["HtmlBody"]
    pixel = re.search(r'src="([^"]*/notifications/o/[^"]+\.gif)"', html).group(1)
    assert pixel == links.open_url(digest.pk) and pixel.endswith(".gif") and "TOKEN" not in pixel

    proxy = client.get(path_of(pixel), HTTP_USER_AGENT="Mozilla/5.0")  # Apple Mail Privacy Protection
    reader = client.get(path_of(pixel), HTTP_USER_AGENT=PERSON)

    assert proxy["Content-Type"] == "image/gif" and proxy["Cache-Control"] == "no-store"
    assert reader.content.startswith(b"GIF89a")
    by_proxy, by_reader = events(Kind.DIGEST_OPENED)
    assert (by_proxy.machine, by_proxy.repeat, by_proxy.first_human) == (True, False, False)
    assert (by_reader.machine, by_reader.repeat, by_reader.first_human) == (False, True, True)
    assert by_reader.ref_id == digest.pk and by_reader.user_agent == PERSON

    deal_link = re.search(r'href="([^"]*/notifications/c/[^"]+)"', html).group(1)
    assert client.get(path_of(deal_link), HTTP_USER_AGENT=PERSON).status_code == 302
    [clicked] = events(Kind.DIGEST_CLICKED)
    assert (clicked.ref_id, clicked.first_human) == (digest.pk, True)
    assert not events(Kind.NOTIFICATION_CLICKED)


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["nonsense", "1:forged-signature", "%00", "9" * 300])
def test_a_bad_pixel_token_still_gets_the_image_and_records_nothing(client, token):
    response = client.get(f"/notifications/o/{token}.gif", HTTP_USER_AGENT=PERSON)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_an_esp_event_sent_twice_is_logged_once(client, webhook):
    user = UserFactory()
    delivery = sent_delivery(user)
    payload = bounce(delivery.provider_id, email=user.email, dedup_key=delivery.dedup_key)

    assert post(client, payload, **AUTH).status_code == 200
    assert post(client, payload, **AUTH).status_code == 200

    [bounced] = events(Kind.EMAIL_BOUNCED)
    assert bounced.user_id == user.pk and bounced.provider == "postmark" and bounced.external_id


@pytest.mark.django_db
def test_an_esp_event_for_a_message_we_did_not_send_is_not_logged(client, webhook):
    victim = UserFactory()
    assert post(client, bounce("not-ours", email=victim.email, user_id=str(victim.pk)), **AUTH).status_code == 200
    assert not events(Kind.EMAIL_BOUNCED)


@pytest.mark.django_db
def test_a_one_click_unsubscribe_is_logged_once():
    user = UserFactory()
    url = path_of(links.unsubscribe_url(user.pk))
    Client().post(url)
    Client().post(url)  # already off: nothing more to say
    [unsubscribed] = events(Kind.EMAIL_UNSUBSCRIBED)
    assert unsubscribed.user_id == user.pk


@pytest.mark.django_db
def test_sms_opt_ins_and_opt_outs_verify_stop_start_and_removing_the_phone(twilio_peer, settings):
    settings.SMS_CODE_RESEND_SECONDS = 0
    user = UserFactory()
    api = APIClient()
    api.force_authenticate(user)
    api.post("/api/notification-preferences/phone", {"phone_number": NUMBER}, format="json")
    assert (
        api.post(
            "/api/notification-preferences/phone/verify", {"otp": last_code(twilio_peer)}, format="json"
        ).status_code
        == 200
    )

    sms.received(NUMBER, "STOP")
    sms.received(NUMBER, "stop")  # already stopped: once
    sms.received(NUMBER, "START")
    api.delete("/api/notification-preferences/phone")

    kinds = list(
        Event.objects.filter(kind__in=[Kind.SMS_OPTED_IN, Kind.SMS_OPTED_OUT], user=user)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == [Kind.SMS_OPTED_IN, Kind.SMS_OPTED_OUT, Kind.SMS_OPTED_IN, Kind.SMS_OPTED_OUT]


@pytest.mark.django_db
def test_clicks_stay_at_a_fixed_number_of_queries(client, postmark_peer):
    from tests.queries import count_queries

    notification, link, _ = deal_on("email", _Request(postmark_peer=postmark_peer))
    first = count_queries(lambda: client.get(path_of(link), HTTP_USER_AGENT=PERSON))
    for _ in range(5):
        client.get(path_of(link), HTTP_USER_AGENT=PERSON)
    assert count_queries(lambda: client.get(path_of(link), HTTP_USER_AGENT=PERSON)) <= first
    assert timezone.now() >= notification.created_at
