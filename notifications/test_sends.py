""" "Send me a test": one message on one of the user's channels, now, with the provider's answer in words.

It goes through the channel exactly as a deal does (the same address, the same provider call), so a
test that arrives proves the channel works; a refusal is handled as a deal's would be (a dead
address is disabled) and shown as the provider said it. Limited per user and channel: each one is
a message sent, and an SMS costs money.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings

from accounts import rate_limits
from accounts.models import User

from . import addresses, channels, delivery, links
from .preferences import addresses_on, preferences_for, unreachable_because

KEY_PREFIX = "test-sends"


@dataclass(frozen=True)
class TestSend:
    channel: str
    sent: bool
    answer: str  # what the provider said, for the user
    provider_id: str = ""  # the provider's id for what it took (Discord's message id), when sent


class NotReachable(ValueError):
    """The channel cannot reach the user; the message says why and what to do."""


class TooManyTests(Exception):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"You sent several tests just now. Try again in {max(1, round(retry_after / 60))} min.")


def test_message(user: User, channel: str) -> channels.Message:
    label = channels.LABELS[channel]
    settings_url = links.settings_url()
    return channels.Message(
        kind="test",
        long_form=lambda: channels.LongForm(
            subject="Test message from Deal Alerts",
            text=f"This is the test you asked for: {label} reaches you. Your settings: {settings_url}",
        ),
        short=f"{label} reaches you",
        title=f"{label} reaches you",
        link=settings_url,
        unsubscribe_url=links.unsubscribe_url(user.pk),
        metadata={"kind": "test", "user_id": str(user.pk)},
    )


def send_test(user: User, channel_name: str) -> TestSend:
    """Send a test on `channel_name`; `NotReachable` or `TooManyTests` when it may not."""
    if channel_name not in channels.available():
        raise NotReachable(f"{channels.LABELS.get(channel_name, channel_name)} is not available yet.")
    prefs = preferences_for(user)
    stored = list(user.addresses.all())
    why = unreachable_because(user, prefs, stored)[channel_name]
    channel = channels.get(channel_name)
    if why:
        raise NotReachable(f"{channel.label} is {why}.")
    _count(user, channel_name)
    targets = [a for a in addresses_on(user, channel, stored) if a.usable]
    key = f"test-{user.pk}-{uuid.uuid4().hex[:12]}"
    with channel.session():
        outcome = delivery.send_to_addresses(channel, targets, test_message(user, channel_name), key)
    if isinstance(outcome, channels.Sent):
        return TestSend(channel_name, True, _sent_in_words(channel, outcome), outcome.provider_id)
    if isinstance(outcome, channels.Transient):
        return TestSend(channel_name, False, f"Could not send it now ({outcome.error}). Try again in a minute.")
    addresses.honour(targets, outcome)  # as a deal's refusal would be: a dead address disabled, an opt-out kept
    if outcome.address_dead:
        return TestSend(channel_name, False, f"Refused: {outcome.error}. We stopped using this address.")
    return TestSend(channel_name, False, f"Refused: {outcome.error}")


def _sent_in_words(channel: channels.Channel, outcome: channels.Sent) -> str:
    if outcome.provider_id.startswith("console-"):
        return "Printed in the server's console: no provider credentials are set on this site."
    return f"Sent. {channel.label} provider's id: {outcome.provider_id}" if outcome.provider_id else "Sent."


def _count(user: User, channel: str) -> None:
    limit = rate_limits.Limit(settings.TEST_SENDS_PER_CHANNEL, settings.TEST_SENDS_WINDOW_SECONDS)
    at = rate_limits.now()
    key = f"{KEY_PREFIX}:{rate_limits.window(limit, at)}:{user.pk}:{channel}"
    wait = rate_limits.wait_seconds(rate_limits.count(key, limit.window_s + 60), limit, at)
    if wait:
        raise TooManyTests(wait)
