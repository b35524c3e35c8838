"""What every channel does: send one delivery and say how it went."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import Delivery


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


Result = Sent | Transient | Permanent


class Channel:
    name: str = ""

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
