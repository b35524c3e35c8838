""" "Send me a test": a real message on each channel that is set up, the provider's answer shown, limited."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from notifications.models import Address, NotificationPreferences
from tests.factories import UserFactory, sms_user

pytestmark = pytest.mark.django_db
URL = "/api/notification-preferences/test"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_test_sms_goes_through_twilio_and_the_answer_comes_back(twilio_peer):
    user = sms_user()
    response = api(user).post(URL, {"channel": "sms"}, format="json")
    assert response.status_code == 200
    [text] = twilio_peer.messages
    assert text["to"] == "+12015550123" and text["body"].startswith("Deal Alerts test: SMS reaches you")
    assert response.json() == {"channel": "sms", "sent": True, "answer": f"Sent. SMS provider's id: {text['sid']}"}


def test_a_test_email_goes_through_the_esp(postmark_peer):
    user = UserFactory(email="dana@example.com")
    body = api(user).post(f"{URL}/", {"channel": "email"}, format="json").json()
    [message] = postmark_peer.messages
    assert message["To"] == "dana@example.com" and message["Subject"] == "Test message from Deal Alerts"
    assert body["sent"] is True


def test_a_refused_number_is_shown_in_twilios_words_and_disabled(twilio_peer, postmark_peer):
    user = sms_user()
    twilio_peer.fail_next("landline")
    body = api(user).post(URL, {"channel": "sms"}, format="json").json()
    assert body["sent"] is False and body["answer"].startswith("Refused: Twilio 21635")
    assert Address.objects.get(user=user, channel="sms").disabled_at is not None


def test_a_channel_that_cannot_reach_the_user_is_a_400_naming_channel(twilio_peer):
    user = UserFactory()
    response = api(user).post(URL, {"channel": "sms"}, format="json")
    assert response.status_code == 400 and response.json() == {"channel": ["SMS is not set up."]}
    for bad in ({}, {"channel": "pigeon"}, {"channel": ["sms"]}, {"channel": None}):
        response = api(user).post(URL, bad, format="json")
        assert response.status_code == 400 and "channel" in response.json()
    assert twilio_peer.messages == []


def test_tests_are_limited_per_channel(twilio_peer, settings):
    settings.TEST_SENDS_PER_CHANNEL = 2
    client = api(sms_user())
    assert [client.post(URL, {"channel": "sms"}, format="json").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.post(URL, {"channel": "sms"}, format="json")
    assert int(refused.headers["Retry-After"]) > 0 and len(twilio_peer.messages) == 2


def test_the_settings_page_has_a_test_button_per_usable_channel_and_shows_the_answer(twilio_peer, postmark_peer):
    user = sms_user()
    client = Client()
    client.force_login(user)
    page = client.get("/notifications/settings/").content.decode()
    assert "Send me a test Email" in page and "Send me a test SMS" in page
    section = client.post("/notifications/settings/test/sms/", headers={"HX-Request": "true"}).content.decode()
    assert 'id="section-test"' in section and "Sent. SMS provider" in section
    twilio_peer.fail_next("not_mobile")
    section = client.post("/notifications/settings/test/sms/", headers={"HX-Request": "true"}).content.decode()
    assert "Refused: Twilio 21614" in section
    page = client.get("/notifications/settings/").content.decode()
    assert "SMS to +1 •••-•••-0123 stopped working" in page and "Send me a test SMS" not in page
    assert client.post("/notifications/settings/test/pigeon/").status_code == 400


def test_texts_only_for_urgent_deals_is_a_setting_on_the_page_and_in_the_api(twilio_peer):
    user = sms_user()
    client = Client()
    client.force_login(user)
    client.post(
        "/notifications/settings/channels/",
        {"channels": ["email", "sms"], "sms_urgent_only_shown": "1", "sms_urgent_only": "on"},
    )
    assert api(user).get("/api/notification-preferences/summary").json()["sms_urgent_only"] is True
    body = (
        api(user)
        .patch("/api/notification-preferences/channels", {"channels": ["sms"], "sms_urgent_only": False}, format="json")
        .json()
    )
    assert body["sms_urgent_only"] is False and body["channels"] == ["sms"]
    client.post("/notifications/settings/channels/", {"channels": ["email"]})  # no box shown: unchanged
    assert api(user).get("/api/notification-preferences/summary").json()["sms_urgent_only"] is False


def test_saving_channels_refreshes_the_test_buttons_in_place(twilio_peer):
    user = sms_user()
    client = Client()
    client.force_login(user)
    section = client.post(
        "/notifications/settings/channels/", {"channels": ["email"]}, headers={"HX-Request": "true"}
    ).content.decode()
    assert 'id="section-test" hx-swap-oob="true"' in section and "Send me a test SMS" in section  # set up, though off
    section = client.post(
        "/notifications/settings/channels/", {"channels": ["email", "sms"]}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "Send me a test SMS" in section


def test_turning_sms_on_after_stop_says_to_reply_start(twilio_peer):
    from notifications.addresses import opt_out

    user = sms_user()
    NotificationPreferences.objects.filter(user=user).update(channels=["email"])
    opt_out(Address.objects.get(user=user, channel="sms"))
    response = api(user).patch("/api/notification-preferences/channels", {"channels": ["email", "sms"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"channels": ["SMS is off because you replied STOP: reply START to turn texts back on."]}
