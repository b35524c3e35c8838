"""The channels: one module each, behind the small interface in `base`.

Only this package talks to providers (the ESP, Twilio, Discord, web push services).
"""

from .base import Channel, Permanent, Result, Sent, Transient
from .email import EmailChannel

_CHANNELS: dict[str, Channel] = {"email": EmailChannel()}


def get(name: str) -> Channel:
    """The channel called `name`; KeyError for one that is not built yet."""
    return _CHANNELS[name]


def available() -> frozenset[str]:
    return frozenset(_CHANNELS)


__all__ = ["Channel", "Permanent", "Result", "Sent", "Transient", "available", "get"]
