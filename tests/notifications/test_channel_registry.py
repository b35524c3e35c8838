"""One list of channels: each channel module declares its name and words, and everything else reads the registry."""

import pytest
from django.test import Client

from alerts.api import DealAlertRuleSerializer
from alerts.forms import CHANNEL_CHOICES
from notifications import channels
from notifications.api import ChannelsSerializer
from notifications.models import Delivery


def test_the_models_forms_and_api_list_the_registrys_channels_in_its_order():
    registry = [(name, channels.LABELS[name]) for name in channels.NAMES]
    assert [c for c, _ in registry] == ["email", "push", "sms", "discord"]
    assert Delivery._meta.get_field("channel").choices == registry
    assert registry == CHANNEL_CHOICES  # the rule form's checkboxes
    assert list(ChannelsSerializer().fields["channels"].child.choices) == list(channels.NAMES)
    assert list(DealAlertRuleSerializer().fields["notification_channels"].child.choices) == list(channels.NAMES)


def test_the_openapi_channel_enum_is_the_registry():
    schema = Client().get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["ChannelEnum"]["enum"] == list(channels.NAMES)


def test_a_built_channel_declares_its_own_words_and_only_built_ones_can_send():
    email = channels.get("email")
    assert (email.name, email.label, email.in_words) == ("email", "Email", "email")
    assert (channels.LABELS["sms"], channels.IN_WORDS["sms"]) == ("SMS", "SMS")
    assert channels.SETUP_HINTS["sms"] == "add and verify a mobile number first"
    assert {"email", "push", "sms", "discord"} <= channels.available()
    assert channels.DAILY_CAPS == {"sms": 5}
    with pytest.raises(KeyError):
        channels.get("fax")
