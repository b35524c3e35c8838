"""What every channel does: send one delivery and say how it went."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User

    from ..models import Delivery, NotificationPreferences


@dataclass(frozen=True)
class Naming:
    """How a channel offered before it is built is called; a built one declares the same on its class."""

    name: str  # stored on deliveries, preferences and rules
    label: str  # a choice's label and a sentence's subject: "SMS is not set up"
    in_words: str  # after "by" in a sentence: "by email", "by SMS"
    setup_hint: str  # what to do when a user turns it on before it can reach them


@dataclass(frozen=True)
class Sent:
    provider_id: str = ""


@dataclass(frozen=True)
class Transient:
    """Worth retrying: the provider was down, slow or rate-limiting us."""

    error: str
    retry_after: float | None = None  # seconds, when the provider said (Retry-After)


@dataclass(frozen=True)
class Permanent:
    """Retrying cannot help: a rejected recipient, a revoked webhook, a malformed request."""

    error: str
    address_dead: bool = False  # the recipient address itself is gone (hard bounce, unsubscribed push)
    opted_out: bool = False  # the recipient told the provider to stop (an SMS STOP); only they can undo it


Result = Sent | Transient | Permanent


class Channel:
    """One way to reach a user. Each channel module declares its `name`, `label` and `in_words` (see `Naming`)."""

    name: str = ""
    label: str = ""
    in_words: str = ""
    setup_hint: str = ""

    def unreachable_because(self, user: "User", prefs: "NotificationPreferences") -> str:
        """Why this channel cannot reach the user now, as the policy words it after "Email is …"; "" when it can."""
        return ""

    def blocked_because(self, user: "User", prefs: "NotificationPreferences") -> str:
        """Why a delivery queued earlier must not go out now (the address changed or died); "" when it may."""
        return ""

    @contextmanager
    def session(self) -> Iterator[None]:
        """Hold a provider connection open across a batch of sends."""
        yield

    def send(self, delivery: "Delivery") -> Result:
        raise NotImplementedError

    def can_find_sent(self) -> bool:
        """Whether `find_sent` can really ask the provider (else it always answers None)."""
        return False

    def find_sent(self, delivery: "Delivery") -> str | None:
        """The provider's id for this delivery when the provider already has it, else None.

        Asked before re-sending a delivery whose worker died mid-send: a provider that can be
        searched by our dedup key lets us settle it without sending twice.
        """
        return None
