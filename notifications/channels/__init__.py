"""The channels: one module each, behind the small interface in `base`, and the one list of them.

Only this package talks to providers (the ESP, Twilio, Discord, web push services). `NAMES`,
`LABELS`, `IN_WORDS` and `SETUP_HINTS` come from the one list below: the models' choices, the
forms, the API and its OpenAPI enum read them, and the (pure) policy is given the words.
"""

from types import MappingProxyType

from .base import Channel, LongForm, Message, Naming, Permanent, Result, Sent, Transient
from .discord import DiscordChannel
from .email import EmailChannel
from .push import PushChannel
from .sms import SmsChannel

# Every channel, in the order settings and forms list them. Push and Discord are offered before
# they are built: a rule or a user choosing one is told "SMS is not set up" and the deal goes by a
# channel that works. Each becomes a module here, replacing its `Naming`, when it is built.
_KNOWN: tuple[Channel | Naming, ...] = (
    EmailChannel(),
    PushChannel(),
    SmsChannel(),
    DiscordChannel(),
)
_BUILT: dict[str, Channel] = {c.name: c for c in _KNOWN if isinstance(c, Channel)}

NAMES: tuple[str, ...] = tuple(c.name for c in _KNOWN)
LABELS = MappingProxyType({c.name: c.label for c in _KNOWN})
IN_WORDS = MappingProxyType({c.name: c.in_words for c in _KNOWN})
SETUP_HINTS = MappingProxyType({c.name: c.setup_hint for c in _KNOWN})
DAILY_CAPS = MappingProxyType({c.name: c.daily_cap for c in _KNOWN if c.daily_cap is not None})


def get(name: str) -> Channel:
    """The channel called `name`; KeyError for one that is not built yet."""
    return _BUILT[name]


def available() -> frozenset[str]:
    return frozenset(_BUILT)


__all__ = [
    "DAILY_CAPS",
    "IN_WORDS",
    "LABELS",
    "NAMES",
    "SETUP_HINTS",
    "Channel",
    "LongForm",
    "Message",
    "Naming",
    "Permanent",
    "Result",
    "Sent",
    "Transient",
    "available",
    "get",
]
