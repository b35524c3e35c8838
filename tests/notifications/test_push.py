"""Deals by web push through a local push service: VAPID checked and every payload decrypted by the peer."""

import ipaddress
import json
import time

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from notifications import channels, push_subscriptions
from notifications.channels.push import MAX_PAYLOAD_BYTES, payload, topic_for
from notifications.delivery import deliver
from notifications.events import DealEvent, RuleSource, notify
from notifications.models import Address, Delivery, Notification, NotificationPreferences
from notifications.test_sends import send_test
from peers.recording import Reply
from peers.webpush import WebPushPeer
from tests.factories import ListingFactory, UserFactory

SOURCE = RuleSource(5, "Cheap ThinkPads", 'mentions "thinkpad"')
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def push_user(peer, devices: int = 1, **fields):
    """A user with push on beside email, subscribed from `devices` browsers on the peer."""
    user = UserFactory(**fields)
    for number in range(devices):
        subscription = push_subscriptions.parse(peer.subscribe())
        push_subscriptions.subscribe(user, subscription, CHROME_ANDROID if number == 0 else FIREFOX_WINDOWS)
    NotificationPreferences.objects.filter(user=user).update(channels=["email", "push"])
    return user


def deal_for(user, **listing) -> Notification:
    [notification] = notify([DealEvent(user.pk, ListingFactory(**listing).pk, SOURCE, channels=("push",))])
    return notification


def push_row(notification) -> Delivery:
    return Delivery.objects.get(notification=notification, channel="push")


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- sending ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_deal_reaches_both_devices_and_each_decrypts_it(webpush_peer, settings):
    settings.SITE_URL = "https://deals.example.com"
    user = push_user(webpush_peer, devices=2)
    notification = deal_for(
        user, title="ThinkPad T14", price="300.00", deal_score=0.5, image_url="https://img.example.com/t14.jpg"
    )
    assert deliver([push_row(notification).pk]).sent == 1
    pushes = webpush_peer.wait_for_pushes(2)
    assert len({p.token for p in pushes}) == 2 and not webpush_peer.refusals
    for pushed in pushes:
        deal = pushed.payload
        assert set(deal) == {"title", "body", "icon", "image", "url", "listing_id", "actions", "tag"}
        watch_url = f"https://deals.example.com/watchlist/watch/{notification.listing_id}/"
        assert deal["actions"] == [{"action": "watch", "title": "Watch", "url": watch_url}]
        assert deal["title"] == "ThinkPad T14 - $300" and deal["listing_id"] == notification.listing_id
        assert deal["tag"] == f"listing-{notification.listing_id}" and pushed.topic == deal["tag"]
        assert deal["body"].startswith("Deal score: 50%") and "Why: “Cheap ThinkPads”" in deal["body"]
        assert deal["url"].startswith("https://deals.example.com/notifications/c/")
        assert deal["image"] == "https://img.example.com/t14.jpg" and deal["icon"].endswith(".svg")
        assert pushed.vapid_claims["sub"] == "mailto:ops@dealalerts.test"
        assert pushed.vapid_claims["aud"] == webpush_peer.url
    assert push_row(notification).status == "sent"
    assert all(a.last_sent_at is not None for a in Address.objects.filter(user=user))  # "last push" per device


@pytest.mark.django_db
def test_ttl_is_never_zero_urgency_follows_the_deal_and_the_topic_names_the_listing(webpush_peer, settings):
    settings.PUSH_TTL_S = 3600
    user = push_user(webpush_peer)
    ordinary = deal_for(user, deal_score=0.5)
    urgent = deal_for(user, deal_score=0.97)
    deliver([push_row(ordinary).pk, push_row(urgent).pk])
    pushes = {p.payload["listing_id"]: p for p in webpush_peer.wait_for_pushes(2)}
    assert pushes[ordinary.listing_id].urgency == "normal" and pushes[urgent.listing_id].urgency == "high"
    assert {p.ttl for p in pushes.values()} == {3600}
    assert pushes[ordinary.listing_id].topic == f"listing-{ordinary.listing_id}"


def test_a_topic_outside_rfc_8030s_alphabet_or_length_is_hashed_to_32_characters():
    assert topic_for("listing-42") == "listing-42"
    for odd in ("listing 42/ü", "x" * 33):
        hashed = topic_for(odd)
        assert len(hashed) == 32 and hashed.replace("-", "").replace("_", "").isalnum()
        assert hashed == topic_for(odd)  # the same subject, the same topic: it replaces
    assert topic_for("") == ""


@pytest.mark.django_db
def test_a_huge_description_with_emoji_still_fits_one_record_trimmed_and_the_title_kept(webpush_peer):
    user = push_user(webpush_peer)
    title = ("ThinkPad 😀 " * 30)[:200]  # the longest title a listing has
    notification = deal_for(user, title=title, price="300.00", description="Mint condition 🎉 «boxed» " * 2000)
    deliver([push_row(notification).pk])
    [pushed] = webpush_peer.wait_for_pushes(1)
    assert not webpush_peer.refusals
    assert MAX_PAYLOAD_BYTES - 8 < pushed.plaintext_bytes <= MAX_PAYLOAD_BYTES  # filled, never over
    assert pushed.payload["title"] == f"{title} - $300" and pushed.payload["body"].endswith("…")
    assert pushed.payload["url"] and pushed.payload["listing_id"] == notification.listing_id


def test_when_even_an_empty_body_is_too_long_the_title_is_trimmed_too():
    message = channels.Message(
        kind="test",
        long_form=lambda: channels.LongForm("", "A body"),
        short="ThinkPad 😀 " * 600,
        link="https://deals.example.com/c/x",
    )
    encoded = payload(message, "https://deals.example.com/static/favicon.svg")
    fields = json.loads(encoded)
    assert len(encoded) <= MAX_PAYLOAD_BYTES
    assert fields["body"] == "" and fields["title"].endswith("…") and fields["url"] == "https://deals.example.com/c/x"


def test_a_long_description_is_trimmed_before_the_title():
    message = channels.Message(
        kind="deal",
        long_form=lambda: channels.LongForm("", ""),
        short="ThinkPad T14 - $300",
        link="https://deals.example.com/c/x",
        description="Très bon état " * 1000,
        metadata={"listing_id": "7"},
    )
    encoded = payload(message, "https://deals.example.com/static/favicon.svg")
    fields = json.loads(encoded)
    assert MAX_PAYLOAD_BYTES - 8 < len(encoded) <= MAX_PAYLOAD_BYTES
    assert fields["title"] == "ThinkPad T14 - $300" and fields["body"].endswith("…") and fields["listing_id"] == 7


@pytest.mark.django_db
def test_410_on_the_only_subscription_disables_it_tells_the_user_and_falls_back_to_email(
    webpush_peer, postmark_peer, eager_tasks, django_capture_on_commit_callbacks
):
    user = push_user(webpush_peer, email="dana@example.com")
    notification = deal_for(user)
    webpush_peer.fail_next("gone")
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver([push_row(notification).pk]).failed == 1
    address = Address.objects.get(user=user, channel="push")
    assert not address.usable and address.disabled_reason.startswith("push service 410")
    fallback = Delivery.objects.get(notification=notification, channel="email")
    assert fallback.reason.startswith("sent by email instead: Push stopped working: push service 410")
    subjects = [m["Subject"] for m in postmark_peer.messages]
    assert subjects.count("We stopped sending Push to Chrome on Android") == 1

    later = deal_for(user)
    assert not Delivery.objects.filter(notification=later, channel="push").exists()
    assert (
        "by email instead: Push is off because your browsers stopped"
        in Delivery.objects.get(notification=later, channel="email").reason
    )


@pytest.mark.django_db
def test_one_gone_device_of_two_is_stopped_quietly_and_the_other_still_gets_the_deal(
    webpush_peer, postmark_peer, eager_tasks, django_capture_on_commit_callbacks
):
    user = push_user(webpush_peer, devices=2)
    notification = deal_for(user)
    webpush_peer.fail_next("not_found")
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver([push_row(notification).pk]).sent == 1
    assert len(webpush_peer.pushed) == 1
    states = sorted((a.usable, a.last_sent_at is not None) for a in Address.objects.filter(user=user, channel="push"))
    assert states == [(False, False), (True, True)]
    assert not Delivery.objects.filter(notification=notification, channel="email").exists()
    assert not [m for m in postmark_peer.messages if m["Subject"].startswith("We stopped sending")]


@pytest.mark.django_db
def test_413_is_permanent_and_never_retried(webpush_peer, postmark_peer):
    user = push_user(webpush_peer)
    notification = deal_for(user)
    webpush_peer.fail_next("too_large")
    assert deliver([push_row(notification).pk]).failed == 1
    row = push_row(notification)
    assert row.status == "failed" and row.last_error.startswith("push service 413") and row.attempts == 1
    assert Address.objects.get(user=user, channel="push").usable  # the subscription itself is fine
    assert len(webpush_peer.requests) == 1


@pytest.mark.django_db
def test_429_is_retried_after_the_services_retry_after(webpush_peer):
    user = push_user(webpush_peer)
    notification = deal_for(user)
    webpush_peer.fail_next("rate_limited", retry_after=120)
    before = timezone.now()
    assert deliver([push_row(notification).pk]).retrying == 1
    row = push_row(notification)
    assert row.status == "deferred" and row.last_error.startswith("push service 429")
    assert (row.not_before - before).total_seconds() >= 119
    deliver([row.pk], now=row.not_before)
    assert push_row(notification).status == "sent" and len(webpush_peer.wait_for_pushes(1)) == 1


@pytest.mark.django_db
def test_a_push_service_that_does_not_answer_in_time_is_retried(webpush_peer, settings):
    settings.PUSH_TIMEOUT_S = 0.2
    webpush_peer.delay = 1
    notification = deal_for(push_user(webpush_peer))
    assert deliver([push_row(notification).pk]).retrying == 1
    assert "unreachable" in push_row(notification).last_error


@pytest.mark.django_db
def test_without_vapid_keys_push_is_not_available_and_deals_go_by_email(webpush_peer, settings):
    user = push_user(webpush_peer)
    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = ""
    notification = deal_for(user)
    assert not Delivery.objects.filter(notification=notification, channel="push").exists()
    assert "Push is not available on this site yet" in Delivery.objects.get(notification=notification).reason
    response = api_for(user).post("/api/push-subscriptions", webpush_peer.subscribe(), format="json")
    assert response.status_code == 409


# --- the API --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_several_browsers_subscribe_and_the_same_endpoint_again_updates_its_device(webpush_peer):
    user = UserFactory()
    client = api_for(user)
    phone, laptop = webpush_peer.subscribe(), webpush_peer.subscribe()
    first = client.post("/api/push-subscriptions", phone, format="json", HTTP_USER_AGENT=CHROME_ANDROID)
    assert first.status_code == 201 and first.json()["browser"] == "Chrome on Android"
    client.post("/api/push-subscriptions", laptop, format="json", HTTP_USER_AGENT=FIREFOX_WINDOWS)
    again = client.post("/api/push-subscriptions", phone, format="json", HTTP_USER_AGENT=CHROME_ANDROID)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    listed = client.get("/api/push-subscriptions").json()
    assert sorted(d["browser"] for d in listed) == ["Chrome on Android", "Firefox on Windows"]
    stored = Address.objects.get(pk=first.json()["id"])
    assert json.loads(stored.value)["endpoint"] == phone["endpoint"]
    assert NotificationPreferences.objects.get(user=user).channels == ["email", "push"]  # enabling turns it on


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.pop("endpoint"), "endpoint"),
        (lambda s: s.update(endpoint="not a url"), "endpoint"),
        (lambda s: s.pop("keys"), "keys"),
        (lambda s: s["keys"].update(p256dh="abc"), "keys.p256dh"),
        (lambda s: s["keys"].update(p256dh="B" + "A" * 86), "keys.p256dh"),  # 65 bytes, not on the curve
        (lambda s: s["keys"].update(p256dh="!!!"), "keys.p256dh"),
        (lambda s: s["keys"].pop("auth"), "keys.auth"),
        (lambda s: s["keys"].update(auth="AAAA"), "keys.auth"),
    ],
)
def test_a_malformed_subscription_is_a_400_naming_the_field_and_stores_nothing(webpush_peer, change, field):
    user = UserFactory()
    subscription = webpush_peer.subscribe()
    change(subscription)
    response = api_for(user).post("/api/push-subscriptions", subscription, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Address.objects.filter(user=user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",
        "https://127.0.0.1/push/abc",
        "https://10.0.0.8/push/abc",
        "https://169.254.169.254/latest",
        "https://[::1]/push",
        "https://localhost/push",
        "https://push.internal/abc",
        "https://user@fcm.googleapis.com/fcm/send/abc",
        "https://fcm.googleapis.com:8443/fcm/send/abc",
        "https://2130706433/push",
        "https://0x7f.0.0.1/push",
        "https://localhost./push",
        "https://metadata.google.internal./computeMetadata",
    ],
)
def test_outside_tests_an_endpoint_must_be_https_on_a_public_host(webpush_peer, settings, endpoint):
    settings.PUSH_ENDPOINTS_PUBLIC_ONLY = True
    subscription = {**webpush_peer.subscribe(), "endpoint": endpoint}
    response = api_for(UserFactory()).post("/api/push-subscriptions", subscription, format="json")
    assert response.status_code == 400 and "endpoint" in response.json()


@pytest.mark.django_db
def test_a_public_looking_name_for_a_private_address_is_refused(webpush_peer, settings, monkeypatch):
    settings.PUSH_ENDPOINTS_PUBLIC_ONLY = True
    # This machine has no DNS: the resolver is stood in for, as a rebinding name would answer.
    monkeypatch.setattr(push_subscriptions, "resolve", lambda host: [ipaddress.ip_address("10.1.2.3")])
    subscription = {**webpush_peer.subscribe(), "endpoint": "https://127.0.0.1.nip.io/push/abc"}
    response = api_for(UserFactory()).post("/api/push-subscriptions", subscription, format="json")
    assert response.status_code == 400 and "endpoint" in response.json()


@pytest.mark.django_db
def test_a_public_push_service_endpoint_is_accepted(webpush_peer, settings, monkeypatch):
    settings.PUSH_ENDPOINTS_PUBLIC_ONLY = True
    monkeypatch.setattr(push_subscriptions, "resolve", lambda host: [ipaddress.ip_address("142.250.74.106")])
    subscription = {**webpush_peer.subscribe(), "endpoint": "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b"}
    assert api_for(UserFactory()).post("/api/push-subscriptions", subscription, format="json").status_code == 201


@pytest.mark.django_db
def test_another_users_subscription_is_a_404_and_stays(webpush_peer):
    owner, other = push_user(webpush_peer), UserFactory()
    [device] = Address.objects.filter(user=owner, channel="push")
    assert api_for(other).delete(f"/api/push-subscriptions/{device.pk}").status_code == 404
    assert api_for(other).get("/api/push-subscriptions").json() == []
    assert Address.objects.filter(pk=device.pk).exists()
    assert api_for(owner).delete(f"/api/push-subscriptions/{device.pk}").status_code == 204
    assert not Address.objects.filter(pk=device.pk).exists()


@pytest.mark.django_db
def test_a_renewed_subscription_replaces_the_old_one_by_its_old_endpoint(webpush_peer):
    user = push_user(webpush_peer)
    NotificationPreferences.objects.filter(user=user).update(channels=["email"])  # turned off on purpose
    [old] = Address.objects.filter(user=user, channel="push")
    renewed = webpush_peer.subscribe()
    body = {**renewed, "old_endpoint": json.loads(old.value)["endpoint"]}
    assert APIClient().post("/api/push-subscriptions/renew", body, format="json").status_code == 204
    [device] = Address.objects.filter(user=user, channel="push")
    assert json.loads(device.value)["endpoint"] == renewed["endpoint"]
    assert NotificationPreferences.objects.get(user=user).channels == ["email"]  # the browser did not choose
    unknown = {**webpush_peer.subscribe(), "old_endpoint": "https://fcm.googleapis.com/fcm/send/unknown"}
    assert APIClient().post("/api/push-subscriptions/renew", unknown, format="json").status_code == 404


# --- the service worker, the settings page and the test button -----------------------------------


@pytest.mark.django_db
def test_the_service_worker_is_served_at_the_root_with_root_scope():
    response = Client().get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/" and response["Cache-Control"] == "no-cache"
    source = response.content.decode()
    for event in ("push", "notificationclick", "pushsubscriptionchange"):
        assert f'addEventListener("{event}"' in source
    assert "View deal" in source
    assert "Content-Security-Policy" in response


@pytest.mark.django_db
def test_a_device_id_that_is_not_a_plain_number_removes_nothing(webpush_peer):
    user = push_user(webpush_peer, devices=1)
    client = Client()
    client.force_login(user)
    for hostile in ("²", "1e3", "-1", "9" * 40, ""):
        assert client.post("/notifications/settings/push/", {"device": hostile}).status_code in (200, 400)
    assert Address.objects.filter(user=user, channel="push").count() == 1


@pytest.mark.django_db
def test_a_push_endpoint_that_redirects_is_disabled_not_followed(webpush_peer, postmark_peer):
    user = push_user(webpush_peer, devices=1)
    device = Address.objects.get(user=user, channel="push")
    webpush_peer.script("/push/", Reply(307, b"", {"Location": "http://169.254.169.254/latest/meta-data"}))
    outcome = send_test(user, "push")
    assert outcome.sent is False
    device.refresh_from_db()
    assert device.disabled_at is not None and "redirect" in device.disabled_reason


@pytest.mark.django_db
def test_the_settings_page_lists_devices_removes_one_and_sends_a_test_push(webpush_peer):
    user = push_user(webpush_peer, devices=2)
    client = Client()
    client.force_login(user)
    page = client.get("/notifications/settings/").content.decode()
    assert "Enable on this device" in page and "Chrome on Android" in page and "Firefox on Windows" in page
    assert webpush_peer_key_in(page)
    test = client.post("/notifications/settings/test/push/", HTTP_HX_REQUEST="true")
    assert "Sent." in test.content.decode()
    pushed = webpush_peer.wait_for_pushes(2)  # a test reaches every browser, as a deal does
    assert [p.payload["title"] for p in pushed] == ["Push reaches you"] * 2
    device = Address.objects.filter(user=user, channel="push").first()
    removed = client.post("/notifications/settings/push/", {"device": device.pk}, HTTP_HX_REQUEST="true")
    assert "Removed" in removed.content.decode()
    assert Address.objects.filter(user=user, channel="push").count() == 1


def webpush_peer_key_in(page: str) -> bool:
    from django.conf import settings

    return f'data-vapid-key="{settings.VAPID_PUBLIC_KEY}"' in page


@pytest.mark.django_db
def test_without_keys_the_settings_page_says_push_is_not_available(settings):
    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = ""
    client = Client()
    client.force_login(UserFactory())
    page = client.get("/notifications/settings/").content.decode()
    assert "Push is not available on this site yet" in page and "Enable on this device" not in page


def test_the_peer_refuses_a_token_signed_by_another_key_or_for_another_audience(webpush_peer):
    from py_vapid import Vapid

    from notifications.channels.push import new_vapid_keys

    subscription = webpush_peer.subscribe()
    _, private = new_vapid_keys()
    vapid = Vapid.from_string(private_key=private)
    good = vapid.sign({"sub": "mailto:a@example.com", "aud": webpush_peer.url, "exp": int(time.time()) + 600})
    tampered = good["Authorization"].replace(", k=", ",k=").split(",k=")[0] + ",k=" + new_vapid_keys()[0]
    far = vapid.sign({"sub": "mailto:a@example.com", "aud": webpush_peer.url, "exp": int(time.time()) + 90000})
    other = vapid.sign(
        {"sub": "mailto:a@example.com", "aud": "https://elsewhere.example", "exp": int(time.time()) + 60}
    )
    import requests

    for header in (tampered, far["Authorization"], other["Authorization"], ""):
        response = requests.post(
            subscription["endpoint"],
            data=b"x",
            headers={"Authorization": header, "TTL": "60", "Content-Encoding": "aes128gcm"},
            timeout=5,
        )
        assert response.status_code == 401
    assert len(webpush_peer.refusals) == 4


@pytest.mark.django_db
def test_the_push_service_peer_runs_as_its_own_process_and_counts_what_it_decrypted(webpush_peer, settings):
    from notifications.management.commands.bench_delivery import new_subscription
    from peers.processes import webpush_sink

    with webpush_sink() as sink:
        subscription = push_subscriptions.parse(new_subscription(sink.url, settings.VAPID_PUBLIC_KEY))
        device = Address(channel="push", value=subscription.as_json())
        push = channels.get("push")
        message = channels.Message(
            kind="deal",
            long_form=lambda: channels.LongForm("", ""),
            short="ThinkPad T14 - $300",
            link="https://deals.example.com/c/x",
            metadata={"listing_id": "42"},
        )
        with push.session():
            assert isinstance(push.send(device, message, "n1-push"), channels.Sent)
        stats = sink.stats()
    token = WebPushPeer.token_of(subscription.endpoint)
    assert stats == {"accepted": 1, "rate_limited": 0, "by_key": {f"42 {token}": 1}}


@pytest.mark.django_db
def test_make_runs_demo_device_is_made_on_the_local_push_service_and_gets_the_test_push(webpush_peer, settings):
    settings.PUSH_ENDPOINTS_PUBLIC_ONLY = True  # the demo device is ours, not a user's endpoint
    settings.PUSH_DEMO_SERVICE_URL = webpush_peer.url
    user = UserFactory()
    client = Client()
    client.force_login(user)
    assert "Add a device on the local push service" in client.get("/notifications/settings/").content.decode()
    added = client.post("/notifications/settings/push/", {"action": "demo"}, HTTP_USER_AGENT=CHROME_ANDROID)
    assert "Added a device on the local push service" in added.content.decode()
    [device] = Address.objects.filter(user=user, channel="push")
    assert device.label == "Chrome on Android (local push service)" and device.usable
    assert "Sent." in client.post("/notifications/settings/test/push/").content.decode()
    [pushed] = webpush_peer.wait_for_pushes(1)
    assert pushed.token == WebPushPeer.token_of(json.loads(device.value)["endpoint"])


@pytest.mark.django_db
def test_a_push_service_started_again_with_its_seed_still_decrypts_its_subscriptions(webpush_peer):
    with WebPushPeer(seed=b"make-run-demo") as before:
        subscription = before.subscribe()
    with WebPushPeer(seed=b"make-run-demo") as after, WebPushPeer(seed=b"another") as stranger:
        push = channels.get("push")
        message = channels.Message(kind="test", long_form=lambda: channels.LongForm("", "hello"), short="Hi")
        for peer, expected in ((after, channels.Sent), (stranger, channels.Permanent)):
            token = WebPushPeer.token_of(subscription)
            moved = {**subscription, "endpoint": f"{peer.url}/push/{token}"}
            with push.session():
                assert isinstance(push.send(Address(value=json.dumps(moved)), message, "k"), expected)
        assert [p.payload["body"] for p in after.pushed] == ["hello"]
        assert stranger.refusals == ["404 no such subscription"]
