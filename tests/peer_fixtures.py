"""Fixtures for the protocol peers (the `peers` package), made available to the suite by tests/conftest.py.

Each peer starts once per test session, on a free port; the per-test fixture resets it (nothing
recorded, scripted or failing, its token and delay as started) and points Django at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import pytest

from peers.discord import DiscordPeer
from peers.postmark import PostmarkPeer
from peers.processes import POSTMARK_BACKEND
from peers.recording import RecordingHTTPServer
from peers.smtp import SMTPPeer
from peers.twilio import TwilioPeer
from peers.webpush import WebPushPeer

if TYPE_CHECKING:
    from pytest_django.fixtures import SettingsWrapper

Peer = TypeVar("Peer", RecordingHTTPServer, SMTPPeer)


@pytest.fixture(scope="session")
def _http_peer_server() -> Iterator[RecordingHTTPServer]:
    with RecordingHTTPServer() as peer:
        yield peer


@pytest.fixture(scope="session")
def _postmark_peer_server() -> Iterator[PostmarkPeer]:
    with PostmarkPeer() as peer:
        yield peer


@pytest.fixture(scope="session")
def _smtp_peer_server() -> Iterator[SMTPPeer]:
    with SMTPPeer() as peer:
        yield peer


@pytest.fixture(scope="session")
def _twilio_peer_server() -> Iterator[TwilioPeer]:
    with TwilioPeer() as peer:
        yield peer


@contextmanager
def _for_this_test(peer: Peer, settings: SettingsWrapper | None = None, **django_settings: object) -> Iterator[Peer]:
    """The session's peer, reset before and after the test, with these Django settings pointing at it."""
    peer.reset()
    for name, value in django_settings.items():
        setattr(settings, name, value)
    try:
        yield peer
    finally:
        peer.reset()


@pytest.fixture
def http_peer(_http_peer_server: RecordingHTTPServer) -> Iterator[RecordingHTTPServer]:
    with _for_this_test(_http_peer_server) as peer:
        yield peer


@pytest.fixture
def postmark_peer(_postmark_peer_server: PostmarkPeer, settings: SettingsWrapper) -> Iterator[PostmarkPeer]:
    """A PostmarkPeer that Django's email goes to, through anymail's Postmark backend."""
    peer = _postmark_peer_server
    # anymail joins "email", "email/batch"... to the URL, which must end in "/".
    anymail = {"POSTMARK_SERVER_TOKEN": peer.token, "POSTMARK_API_URL": peer.url + "/"}
    with _for_this_test(peer, settings, EMAIL_BACKEND=POSTMARK_BACKEND, ANYMAIL=anymail):
        yield peer


@pytest.fixture
def smtp_peer(_smtp_peer_server: SMTPPeer, settings: SettingsWrapper) -> Iterator[SMTPPeer]:
    """An SMTPPeer that Django's SMTP backend sends to."""
    peer = _smtp_peer_server
    smtp = {"EMAIL_HOST": peer.host, "EMAIL_PORT": peer.port, "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": ""}
    with _for_this_test(
        peer,
        settings,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        **smtp,
    ):
        yield peer


@pytest.fixture
def twilio_peer(_twilio_peer_server: TwilioPeer, settings: SettingsWrapper) -> Iterator[TwilioPeer]:
    """A TwilioPeer that SMS goes to, through the twilio library, sent from +15005550006."""
    peer = _twilio_peer_server
    with _for_this_test(
        peer,
        settings,
        TWILIO_ACCOUNT_SID=peer.account_sid,
        TWILIO_AUTH_TOKEN=peer.token,
        TWILIO_PHONE_NUMBER="+15005550006",
        TWILIO_MESSAGING_SERVICE_SID="",
        TWILIO_API_URL=peer.url,
    ):
        yield peer


@pytest.fixture(scope="session")
def _discord_peer_server() -> Iterator[DiscordPeer]:
    with DiscordPeer() as peer:
        yield peer


@pytest.fixture
def discord_peer(_discord_peer_server: DiscordPeer, settings: SettingsWrapper) -> Iterator[DiscordPeer]:
    """A DiscordPeer that webhooks are executed on (the URLs users paste stay discord.com ones)."""
    from notifications.channels import discord

    peer = _discord_peer_server
    discord.forget_rate_limits()  # this process's view of the buckets belongs to the last test's peer state
    with _for_this_test(peer, settings, DISCORD_API_URL=peer.api_url):
        yield peer
    discord.forget_rate_limits()


@pytest.fixture(scope="session")
def _webpush_peer_server() -> Iterator[WebPushPeer]:
    with WebPushPeer() as peer:
        yield peer


@pytest.fixture(scope="session")
def _vapid_keys() -> tuple[str, str]:
    from notifications.channels.push import new_vapid_keys

    return new_vapid_keys()


@pytest.fixture
def webpush_peer(
    _webpush_peer_server: WebPushPeer, _vapid_keys: tuple[str, str], settings: SettingsWrapper
) -> Iterator[WebPushPeer]:
    """A WebPushPeer that pushes go to: the site has a VAPID key pair, and subscriptions may point at
    127.0.0.1. `peer.subscribe(settings.VAPID_PUBLIC_KEY)` makes a browser's subscription on it."""
    public, private = _vapid_keys
    with _for_this_test(
        _webpush_peer_server,
        settings,
        VAPID_PUBLIC_KEY=public,
        VAPID_PRIVATE_KEY=private,
        VAPID_SUBJECT="mailto:ops@dealalerts.test",
        PUSH_ENDPOINTS_PUBLIC_ONLY=False,
    ) as peer:
        yield peer
