"""Discord: the webhook URL guard, the embed within Discord's limits, sends through a local Discord
peer (rate limits, a deleted webhook, a refused body), and the webhook's API."""

import time
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from notifications.channels import LongForm, Message, Permanent, Sent, Transient, discord
from notifications.delivery import deliver
from notifications.events import DealEvent, RuleSource, notify
from notifications.models import Address, Delivery, Notification, NotificationPreferences
from peers.discord import form_errors
from peers.recording import Reply
from tests.factories import ListingFactory, UserFactory

WEBHOOK = "/api/notification-preferences/discord-webhook"
TEST = "/api/notification-preferences/discord-webhook/test"
HOOK_ID = "112233445566778899"
HOOK_URL = f"https://discord.com/api/webhooks/{HOOK_ID}/Ab-cd_EF123"
SOURCE = RuleSource(3, "Cheap ThinkPads", 'mentions "thinkpad"')


def discord_user(url: str = HOOK_URL, **fields):
    """A user with this webhook registered and Discord turned on beside email."""
    from notifications import discord_webhook

    user = UserFactory(**fields)
    discord_webhook.register(user, url)
    NotificationPreferences.objects.filter(user=user).update(channels=["email", "discord"])
    return user


def signed_in(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def deal_for(user, **listing) -> Notification:
    [notification] = notify([DealEvent(user.pk, ListingFactory(**listing).pk, SOURCE, channels=("discord",))])
    return notification


def discord_row(notification) -> Delivery:
    return Delivery.objects.get(notification=notification, channel="discord")


def message(**fields) -> Message:
    return Message(kind="deal", long_form=lambda: LongForm("", ""), **fields)


def address(url: str = HOOK_URL) -> Address:
    return Address(channel="discord", value=url, verified_at=datetime.now(UTC))


# --- the webhook URL: only Discord's own ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        HOOK_URL,
        HOOK_URL + "/",
        f"https://discordapp.com/api/webhooks/{HOOK_ID}/tok",
        f"https://ptb.discord.com/api/webhooks/{HOOK_ID}/tok",
        f"https://canary.discord.com/api/webhooks/{HOOK_ID}/tok",
        f"https://discord.com/api/v10/webhooks/{HOOK_ID}/tok",
        f"  https://Discord.com/api/webhooks/{HOOK_ID}/tok  ",
    ],
)
def test_discords_own_webhook_urls_are_accepted_and_stored_in_one_canonical_form(url):
    webhook = discord.parse_webhook_url(url)
    assert webhook.id == HOOK_ID
    assert webhook.url.startswith(f"https://discord.com/api/webhooks/{HOOK_ID}/")


@pytest.mark.parametrize(
    "url",
    [
        f"http://discord.com/api/webhooks/{HOOK_ID}/tok",  # not https
        f"https://evil.example/api/webhooks/{HOOK_ID}/tok",  # another host
        f"https://discord.com.evil.example/api/webhooks/{HOOK_ID}/tok",
        f"https://discord.com@evil.example/api/webhooks/{HOOK_ID}/tok",  # userinfo
        f"https://user:pw@discord.com/api/webhooks/{HOOK_ID}/tok",
        f"https://evil.example#@discord.com/api/webhooks/{HOOK_ID}/tok",
        f"https://discord.com:8443/api/webhooks/{HOOK_ID}/tok",  # a port
        f"https://discord.com:443/api/webhooks/{HOOK_ID}/tok",
        f"https://162.159.135.232/api/webhooks/{HOOK_ID}/tok",  # IP literals
        f"https://[2606:4700::6810:4f19]/api/webhooks/{HOOK_ID}/tok",
        f"https://127.0.0.1/api/webhooks/{HOOK_ID}/tok",
        f"https://discord.com./api/webhooks/{HOOK_ID}/tok",
        f"https://discord.com/api/webhooks/{HOOK_ID}/tok?url=https://evil.example",  # query
        f"https://discord.com/api/webhooks/{HOOK_ID}/tok#frag",
        f"https://discord.com\\@evil.example/api/webhooks/{HOOK_ID}/tok",
        f"https://discord.com/api/webhooks/{HOOK_ID}/tok%2F..%2F..",
        f"https://discord.com/api/webhooks/{HOOK_ID}/../../oauth2/tok",
        "https://discord.com/api/webhooks/not-a-number/tok",
        f"https://discord.com/api/webhooks/{HOOK_ID}",
        f"https://discord.com/api/webhooks/{HOOK_ID}/to k",
        "ftp://discord.com/api/webhooks/1/tok",
        "javascript:alert(1)",
        "",
    ],
)
def test_anything_else_is_refused_naming_the_field(url):
    with pytest.raises(ValidationError) as refused:
        discord.parse_webhook_url(url)
    assert "webhook_url" in refused.value.message_dict


# --- the embed: within every limit, counted in UTF-16 units ------------------------------------


def test_a_deal_embed_has_the_linked_title_facts_image_footer_time_and_a_colour_by_score():
    at = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    card = discord.embed(
        message(
            title="ThinkPad T14",
            link="https://deals.example.com/c/abc",
            image="https://img.example.com/t14.jpg",
            description="  Barely used. ",
            facts=(("Price", "$300 (was $450)"), ("Deal score", "92%: well under the usual price"), ("Empty", "")),
            footer="Craigslist · alert: Cheap ThinkPads",
            timestamp=at,
            score=0.92,
        )
    )
    assert card["title"] == "ThinkPad T14" and card["url"] == "https://deals.example.com/c/abc"
    assert card["description"] == "Barely used."
    assert [(f["name"], f["value"]) for f in card["fields"]] == [
        ("Price", "$300 (was $450)"),
        ("Deal score", "92%: well under the usual price"),
    ]
    assert card["image"] == {"url": "https://img.example.com/t14.jpg"}
    assert card["footer"] == {"text": "Craigslist · alert: Cheap ThinkPads"}
    assert card["timestamp"] == "2026-11-26T15:00:00+00:00"
    assert card["color"] == discord.GREAT_DEAL
    assert discord.embed(message(title="x", score=0.3))["color"] == discord.ANY_DEAL
    assert "image" not in discord.embed(message(title="x", image="javascript:alert(1)"))


@pytest.mark.parametrize(
    ("part", "limit"),
    [
        ("title", discord.TITLE_LIMIT),
        ("description", discord.DESCRIPTION_LIMIT),
        ("footer", discord.FOOTER_LIMIT),
        ("field_name", discord.FIELD_NAME_LIMIT),
        ("field_value", discord.FIELD_VALUE_LIMIT),
    ],
)
@pytest.mark.parametrize("char", ["a", "é", "😀"])
def test_each_part_at_its_limit_is_kept_whole_and_one_past_it_is_cut_with_an_ellipsis(part, limit, char):
    width = discord.utf16_length(char)

    def card_with(text: str) -> tuple[dict, str]:
        fields = {
            "title": {"title": text},
            "description": {"title": "t", "description": text},
            "footer": {"title": "t", "footer": text},
            "field_name": {"title": "t", "facts": ((text, "v"),)},
            "field_value": {"title": "t", "facts": (("n", text),)},
        }[part]
        card = discord.embed(message(**fields))
        got = {
            "title": lambda: card["title"],
            "description": lambda: card["description"],
            "footer": lambda: card["footer"]["text"],
            "field_name": lambda: card["fields"][0]["name"],
            "field_value": lambda: card["fields"][0]["value"],
        }[part]()
        return card, got

    at_limit = char * (limit // width)
    card, got = card_with(at_limit)
    assert got == at_limit and form_errors({"embeds": [card]}) is None
    past = at_limit + "x" * width
    card, got = card_with(past)
    assert got.endswith("…") and discord.utf16_length(got) <= limit
    assert form_errors({"embeds": [card]}) is None


def test_an_embed_over_6000_in_all_cuts_the_description_and_drops_the_last_fields():
    facts = tuple((f"Fact {i}", "v" * 1024) for i in range(30))
    card = discord.embed(message(title="t" * 300, description="d" * 5000, facts=facts, footer="f" * 3000))
    assert discord.embed_length(card) <= discord.EMBED_TOTAL_LIMIT
    assert len(card["fields"]) <= discord.FIELDS_LIMIT and card["fields"][0]["name"] == "Fact 0"
    assert card["description"].endswith("…")  # what the rest leaves, and no more
    assert discord.embed_length(card) > discord.EMBED_TOTAL_LIMIT - 10
    short = discord.embed(message(title="t", description="d" * 5000, facts=facts[:5], footer="f"))
    assert len(short["fields"]) == 5 and discord.utf16_length(short["description"]) == 6000 - 2 - 5 * 1030
    assert form_errors({"embeds": [card]}) is None


text_with_astral = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(["😀", "👍", "🏽", "𝔘", "🇺", "🇸", "\u200d", "é", "a", " "]),
    ),
    max_size=1500,
)


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    title=text_with_astral,
    description=st.text(alphabet=st.sampled_from(["😀", "a", "𝔘", " "]), max_size=9000),
    footer=text_with_astral,
    facts=st.lists(st.tuples(text_with_astral, text_with_astral), max_size=40),
)
def test_any_text_makes_an_embed_discord_accepts_never_splitting_a_character(title, description, footer, facts):
    card = discord.embed(message(title=title, description=description, footer=footer, facts=tuple(facts)))
    assert form_errors({"embeds": [card]}) is None
    assert discord.embed_length(card) <= discord.EMBED_TOTAL_LIMIT
    for text in [card.get("title", ""), card.get("description", ""), card.get("footer", {}).get("text", "")]:
        text.encode("utf-16-le")  # a lone surrogate would not encode
    if title.strip():
        assert card["title"] == discord.trim(title, discord.TITLE_LIMIT)


@given(text=text_with_astral, limit=st.integers(min_value=0, max_value=300))
def test_trim_keeps_within_the_limit_and_keeps_a_prefix(text, limit):
    cut = discord.trim(text, limit)
    assert discord.utf16_length(cut) <= limit
    assert cut == text.strip() or (cut.endswith("…") and text.strip().startswith(cut[:-1])) or cut == ""


def test_utf16_length_counts_astral_characters_twice():
    assert discord.utf16_length("a😀é") == 4 == len("a😀é".encode("utf-16-le")) // 2


# --- sending to the peer -----------------------------------------------------------------------


def test_a_send_goes_to_the_configured_api_by_id_and_token_with_wait_and_no_mentions(discord_peer):
    outcome = discord.DiscordChannel().send(
        address(), message(title="@everyone ThinkPad", link="https://x.example/c"), "k1"
    )
    assert isinstance(outcome, Sent) and outcome.provider_id
    [request] = discord_peer.requests
    assert request.route == f"/api/v10/webhooks/{HOOK_ID}/Ab-cd_EF123" and request.path.endswith("?wait=true")
    assert request.json["allowed_mentions"] == {"parse": []}
    [sent] = discord_peer.messages
    assert sent["id"] == outcome.provider_id and sent["body"]["embeds"][0]["title"] == "@everyone ThinkPad"


def test_a_redirect_is_never_followed(discord_peer, http_peer):
    discord_peer.script("/api/v10/webhooks/", Reply(307, {}, {"Location": f"{http_peer.url}/steal"}))
    outcome = discord.DiscordChannel().send(address(), message(title="t"), "k")
    assert isinstance(outcome, Permanent) and "redirect" in outcome.error
    assert http_peer.requests == []


def test_a_timeout_is_transient_and_does_not_show_the_token(discord_peer, monkeypatch):
    monkeypatch.setattr(discord, "SEND_TIMEOUT_S", 0.2)
    discord_peer.delay = 1
    outcome = discord.DiscordChannel().send(address(), message(title="t"), "k")
    assert outcome == Transient("Discord unreachable: ReadTimeout")


def test_the_bucket_is_honoured_within_a_process_so_discord_never_answers_429(discord_peer):
    discord_peer.limit, discord_peer.window = 2, 0.5
    channel = discord.DiscordChannel()
    started = time.monotonic()
    results = [channel.send(address(), message(title=f"t{i}"), f"k{i}") for i in range(5)]
    assert all(isinstance(r, Sent) for r in results)
    assert discord_peer.violations == 0 and len(discord_peer.messages) == 5
    assert time.monotonic() - started >= 0.9  # two refills of the bucket waited for


def test_a_429_is_waited_out_by_its_retry_after_and_sent_once(discord_peer):
    discord_peer.fail_next("rate_limited", retry_after=0.3)
    started = time.monotonic()
    outcome = discord.DiscordChannel().send(address(), message(title="t"), "k")
    assert isinstance(outcome, Sent) and time.monotonic() - started >= 0.3
    assert len(discord_peer.messages) == 1 and len(discord_peer.requests) == 2


def test_a_global_429_holds_every_webhook(discord_peer):
    discord_peer.fail_next("global_rate_limited", retry_after=0.4)
    channel = discord.DiscordChannel()
    started = time.monotonic()
    assert isinstance(channel.send(address(), message(title="t"), "k"), Sent)
    other = address("https://discord.com/api/webhooks/998877665544332211/tok")
    assert isinstance(channel.send(other, message(title="t"), "k2"), Sent)
    assert time.monotonic() - started >= 0.4


def test_a_long_rate_limit_goes_back_to_the_policy_as_transient(discord_peer):
    discord_peer.fail_next("rate_limited", retry_after=120)
    outcome = discord.DiscordChannel().send(address(), message(title="t"), "k")
    assert isinstance(outcome, Transient) and outcome.retry_after == pytest.approx(120, abs=1)
    assert discord_peer.messages == []


def test_unknown_webhook_is_a_dead_address_and_an_invalid_body_is_permanent_with_discords_words(discord_peer):
    channel = discord.DiscordChannel()
    discord_peer.fail_next("unknown_webhook")
    dead = channel.send(address(), message(title="t"), "k")
    assert dead == Permanent("Discord 10015: Unknown Webhook", address_dead=True)
    discord_peer.fail_next("invalid_form")
    refused = channel.send(address(), message(title="t"), "k")
    assert isinstance(refused, Permanent) and not refused.address_dead
    assert refused.error == "Discord 50035: Invalid Form Body (embeds.0.image.url: Not a well formed URL.)"
    discord_peer.fail_next("server_error")
    assert isinstance(channel.send(address(), message(title="t"), "k"), Transient)


def test_a_wrong_token_is_a_dead_address(discord_peer):
    channel = discord.DiscordChannel()
    assert isinstance(channel.send(address(), message(title="t"), "k"), Sent)
    other_token = address(f"https://discord.com/api/webhooks/{HOOK_ID}/reset-token")
    outcome = channel.send(other_token, message(title="t"), "k")
    assert outcome == Permanent("Discord 50027: Invalid Webhook Token", address_dead=True)


def test_a_tampered_stored_url_is_never_sent_anywhere(discord_peer):
    outcome = discord.DiscordChannel().send(address("https://evil.example/api/webhooks/1/x"), message(title="t"), "k")
    assert isinstance(outcome, Permanent) and outcome.address_dead
    assert discord_peer.requests == []


# --- deals end to end --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_deal_arrives_as_an_embed_with_mentions_off(discord_peer, settings):
    settings.SITE_URL = "https://deals.example.com"
    user = discord_user()
    notification = deal_for(
        user, title="ThinkPad T14 @here", price="300.00", deal_score=0.9, description="Mint 😀", condition="good"
    )
    row = discord_row(notification)
    assert deliver([row.pk]).sent == 1
    [sent] = discord_peer.messages
    body = sent["body"]
    assert body["allowed_mentions"] == {"parse": []}
    [card] = body["embeds"]
    assert card["title"] == "ThinkPad T14 @here" and card["url"].startswith(
        "https://deals.example.com/notifications/c/"
    )
    assert card["description"] == "Mint 😀" and card["color"] == discord.GREAT_DEAL
    assert [f["name"] for f in card["fields"]][:2] == ["Price", "Deal score"]
    assert "Cheap ThinkPads" in card["footer"]["text"]
    row.refresh_from_db()
    assert row.status == "sent" and row.provider_id == sent["id"]


@pytest.mark.django_db
def test_a_deleted_webhook_is_disabled_the_user_told_once_and_the_deal_goes_by_email(
    discord_peer, postmark_peer, eager_tasks, django_capture_on_commit_callbacks
):
    user = discord_user(email="dana@example.com")
    notification = deal_for(user)
    discord_peer.delete_webhook(HOOK_ID)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver([discord_row(notification).pk]).failed == 1
    stored = Address.objects.get(user=user, channel="discord")
    assert stored.disabled_at is not None and stored.disabled_reason == "Discord 10015: Unknown Webhook"
    fallback = Delivery.objects.get(notification=notification, channel="email")
    assert fallback.reason.startswith("sent by email instead: Discord stopped working: Discord 10015")
    subjects = [m["Subject"] for m in postmark_peer.messages]
    assert subjects.count(f"We stopped sending Discord to discord.com/api/webhooks/{HOOK_ID}/••••••") == 1
    later = deal_for(user)
    assert not Delivery.objects.filter(notification=later, channel="discord").exists()
    page = Client()
    page.force_login(user)
    assert "Discord 10015" in page.get("/notifications/").content.decode()


@pytest.mark.django_db
def test_an_invalid_body_fails_for_good_with_discords_message_and_keeps_the_webhook(discord_peer, postmark_peer):
    user = discord_user()
    notification = deal_for(user)
    discord_peer.fail_next("invalid_form")
    assert deliver([discord_row(notification).pk]).failed == 1
    row = discord_row(notification)
    assert row.last_error.startswith("Discord 50035: Invalid Form Body")
    assert Address.objects.get(user=user, channel="discord").disabled_at is None


@pytest.mark.django_db
def test_a_deal_rate_limited_for_long_is_retried_later_not_dropped(discord_peer):
    user = discord_user()
    row = discord_row(deal_for(user))
    discord_peer.fail_next("rate_limited", retry_after=90)
    assert deliver([row.pk]).retrying == 1
    row.refresh_from_db()
    assert row.status == "deferred" and "rate limit" in row.last_error


# --- the API -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("slash", ["", "/"])
def test_registering_stores_it_encrypted_and_masked_and_sends_nothing(discord_peer, slash):
    user = UserFactory()
    api = signed_in(user)
    assert api.get(WEBHOOK + slash).json() is None
    answer = api.post(WEBHOOK + slash, {"webhook_url": HOOK_URL}, format="json")
    assert answer.status_code == 201
    body = answer.json()
    assert body["webhook_url"] == f"discord.com/api/webhooks/{HOOK_ID}/••••••" and body["webhook_id"] == HOOK_ID
    assert "Ab-cd_EF123" not in answer.content.decode()
    assert api.get(WEBHOOK + slash).json()["webhook_url"] == body["webhook_url"]
    assert discord_peer.requests == []
    [stored] = Address.objects.filter(user=user, channel="discord")
    assert stored.value == HOOK_URL and stored.verified_at is not None
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM notifications_address WHERE id = %s", [stored.pk])
        assert "Ab-cd_EF123" not in cursor.fetchone()[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent",
    [
        {"webhook_url": "https://discord.com.evil.example/api/webhooks/1/x"},
        {"webhook_url": "http://127.0.0.1:8000/api/webhooks/1/x"},
        {"webhook_url": 5},
        {"webhook_url": None},
        {},
        {"webhook_url": "x" * 400},
    ],
)
def test_a_bad_webhook_url_is_a_400_naming_it_and_nothing_is_stored(sent):
    user = UserFactory()
    answer = signed_in(user).post(WEBHOOK, sent, format="json")
    assert answer.status_code == 400 and "webhook_url" in answer.json()
    assert not Address.objects.filter(user=user, channel="discord").exists()


@pytest.mark.django_db
def test_the_test_button_returns_discords_message_id_or_its_error(discord_peer):
    user = discord_user()
    api = signed_in(user)
    answer = api.post(TEST)
    assert answer.status_code == 200
    body = answer.json()
    [sent] = discord_peer.messages
    assert body["sent"] is True and body["message_id"] == sent["id"]
    assert sent["body"]["embeds"][0]["title"] == "Discord reaches you"
    discord_peer.fail_next("invalid_form")
    refused = api.post(TEST + "/").json()
    assert refused["sent"] is False and refused["message_id"] is None and "50035" in refused["answer"]


@pytest.mark.django_db
def test_testing_a_deleted_webhook_disables_it_and_a_missing_one_is_a_400(discord_peer):
    user = discord_user()
    api = signed_in(user)
    discord_peer.delete_webhook(HOOK_ID)
    answer = api.post(TEST).json()
    assert answer["sent"] is False and "10015" in answer["answer"]
    assert api.get(WEBHOOK).json()["disabled_reason"] == "Discord 10015: Unknown Webhook"
    nobody = signed_in(UserFactory()).post(TEST)
    assert nobody.status_code == 400 and "webhook_url" in nobody.json()


@pytest.mark.django_db
def test_delete_removes_it_and_turns_discord_off(discord_peer):
    user = discord_user()
    api = signed_in(user)
    assert api.delete(WEBHOOK).status_code == 204
    assert api.get(WEBHOOK).json() is None
    assert "discord" not in NotificationPreferences.objects.get(user=user).channels
    assert api.delete(WEBHOOK).status_code == 204  # nothing left: still done


@pytest.mark.django_db
def test_another_users_webhook_is_never_seen_tested_replaced_or_removed(discord_peer):
    owner = discord_user()
    other = signed_in(UserFactory())
    assert other.get(WEBHOOK).json() is None
    assert other.post(TEST).status_code == 400
    assert other.delete(WEBHOOK).status_code == 204
    other.post(WEBHOOK, {"webhook_url": f"https://discord.com/api/webhooks/{HOOK_ID}/other"}, format="json")
    assert Address.objects.get(user=owner, channel="discord").value == HOOK_URL
    assert discord_peer.requests == []
    assert signed_in(owner).get(WEBHOOK).json()["webhook_id"] == HOOK_ID


@pytest.mark.django_db
def test_signed_out_gets_nothing():
    assert APIClient().get(WEBHOOK).status_code in (401, 403)
    assert APIClient().post(WEBHOOK, {"webhook_url": HOOK_URL}, format="json").status_code in (401, 403)


# --- the settings page's Discord section -------------------------------------------------------

SECTION = "/notifications/settings/discord/"


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_section_saves_masks_tests_and_removes_a_webhook_through_htmx(discord_peer):
    user = UserFactory()
    client = page_client(user)
    page = client.get("/notifications/settings/").content.decode()
    assert 'id="section-discord"' in page and "Copy Webhook URL" in page
    saved = client.post(SECTION, {"action": "save", "webhook_url": HOOK_URL}, HTTP_HX_REQUEST="true")
    html = saved.content.decode()
    assert saved.status_code == 200 and f"discord.com/api/webhooks/{HOOK_ID}/••••••" in html
    assert "Ab-cd_EF123" not in html and 'hx-swap-oob="true"' in html  # channels come along
    assert discord_peer.requests == []
    tested = client.post(SECTION, {"action": "test"}, HTTP_HX_REQUEST="true").content.decode()
    [sent] = discord_peer.messages
    assert f"provider&#x27;s id: {sent['id']}" in tested or sent["id"] in tested
    removed = client.post(SECTION, {"action": "remove"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Webhook removed" in removed and not Address.objects.filter(user=user, channel="discord").exists()


@pytest.mark.django_db
def test_a_bad_url_is_shown_beside_the_field_with_and_without_javascript():
    user = UserFactory()
    client = page_client(user)
    bad = "https://discord.com.evil.example/api/webhooks/1/x"
    htmx = client.post(SECTION, {"action": "save", "webhook_url": bad}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="discord-webhook-url-error"' in htmx and 'aria-invalid="true"' in htmx
    plain = client.post(SECTION, {"action": "save", "webhook_url": bad})
    assert plain.status_code == 400 and "Copy Webhook URL" in plain.content.decode()
    assert not Address.objects.filter(user=user).exists()
    unknown = client.post(SECTION, {"action": "drop tables"})
    assert unknown.status_code == 400 and "Choose one of the section" in unknown.content.decode()


@pytest.mark.django_db
def test_a_disabled_webhook_says_why_on_the_page_and_offers_no_test(discord_peer):
    user = discord_user()
    client = page_client(user)
    discord_peer.delete_webhook(HOOK_ID)
    answer = client.post(SECTION, {"action": "test"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Discord 10015: Unknown Webhook" in answer
    page = client.get("/notifications/settings/").content.decode()
    assert "Discord stopped taking it: Discord 10015" in page and ">Send a test<" not in page


@pytest.mark.django_db
def test_the_section_acts_only_on_the_signed_in_users_own_webhook(discord_peer):
    owner = discord_user()
    other = page_client(UserFactory())
    other.post(SECTION, {"action": "remove"})
    other.post(SECTION, {"action": "test"})
    assert Address.objects.filter(user=owner, channel="discord").exists() and discord_peer.requests == []
    assert HOOK_ID not in other.get("/notifications/settings/").content.decode()
    assert Client().post(SECTION, {"action": "remove"}).status_code == 302  # signed out: to sign in


@pytest.mark.django_db
def test_a_stored_url_that_is_not_discords_is_shown_without_an_id_and_never_used(discord_peer):
    user = UserFactory()
    Address.objects.create(
        user=user,
        channel="discord",
        key="k",
        value="https://evil.example/x",
        label="old",
        verified_at=datetime.now(UTC),
    )
    api = signed_in(user)
    assert api.get(WEBHOOK).json()["webhook_id"] == ""
    answer = api.post(TEST).json()
    assert answer["sent"] is False and discord_peer.requests == []
    assert api.get(WEBHOOK).json()["disabled_reason"] == "the stored Discord webhook URL is not Discord's"
