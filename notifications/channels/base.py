"""What every channel is: a name and the words for it, the user's addresses on it, and sending one message to one.

A channel never reads a delivery or a notification: it is given a `Message` (built once, by
`notifications.content`), an `Address` and a key that identifies the send (the delivery's dedup
key), and answers `Sent`, `Transient` or `Permanent`. What to do with the answer — retry, disable
the address, fall back — is decided once, in `delivery` and the policy, for every channel.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from accounts.models import User

    from ..models import Address, NotificationPreferences


@dataclass(frozen=True)
class Naming:
    """How a channel offered before it is built is called; a built one declares the same on its class."""

    name: str  # stored on deliveries, preferences and rules
    label: str  # a choice's label and a sentence's subject: "SMS is not set up"
    in_words: str  # after "by" in a sentence: "by email", "by SMS"
    setup_hint: str  # what to do when a user turns it on before it can reach them
    daily_cap: int | None = None


class LongForm(NamedTuple):
    """What a message says at length: a subject, a plain-text body and (optionally) an HTML part."""

    subject: str
    text: str
    html: str = ""


@dataclass(frozen=True)
class Message:
    """What one notification says, in every form a channel may need; each renders what its medium carries.

    The long form (subject, text, HTML) is rendered from templates only when a channel first reads
    it: an SMS or a push needs the title, price and link alone, and rendering an email costs more
    than sending a text.
    """

    kind: str  # "deal", "digest", "test", "notice": a tag for the provider and our metadata
    long_form: Callable[[], LongForm]  # renders the subject, text and HTML, once, when first asked
    short: str = ""  # a line that says it all: "ThinkPad T14 - $300" (push bodies)
    title: str = ""  # what it is about, and its price: a text message fits them into one segment
    price: str = ""
    link: str = ""  # the tracked link to what it is about
    image: str = ""  # an absolute URL, when there is a picture
    urgent: bool = False
    unsubscribe_url: str = ""  # one-click unsubscribe (email's List-Unsubscribe)
    # For media that show a card (a Discord embed, a push notification):
    description: str = ""  # what the seller wrote, untrimmed: each channel trims to its limits
    facts: tuple[tuple[str, str], ...] = ()  # ("Price", "$300"), ("Deal score", "92%: …"), ("Why", "…")
    footer: str = ""  # where it came from and what matched: "Craigslist · alerts: Cheap ThinkPads"
    timestamp: datetime | None = None
    score: float | None = None  # the deal score, 0–1, when there is one (a card's colour)
    topic: str = ""  # what it is about, so a newer message on it can replace an unread older one
    # News about a listing the user watches; both "" for a plain match, whose title says it all:
    headline: str = ""  # the news in one line: "ThinkPad T14 dropped to $310 (−18%, was $380) — …"
    news: str = ""  # what kind of news, in a word or two: "Price drop", "Sold" (an SMS's prefix, a badge)
    # What else the reader can do from the message, as (label, absolute URL): ("Watch", …) for a
    # deal, ("Stop watching", …) for news about a watched listing. SMS has no room for them.
    actions: tuple[tuple[str, str], ...] = ()
    metadata: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # echoed back by webhooks

    @cached_property
    def _rendered(self) -> LongForm:
        return self.long_form()

    @property
    def subject(self) -> str:
        """An email's subject, a push notification's title."""
        return self._rendered.subject

    @property
    def text(self) -> str:
        """The plain-text body."""
        return self._rendered.text

    @property
    def html(self) -> str:
        """An email's HTML part ("" when there is none)."""
        return self._rendered.html


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
    address_dead: bool = False  # the address itself is gone (hard bounce, landline, deleted webhook)
    opted_out: bool = False  # the person asked the provider to stop (an SMS STOP Twilio enforces)


Result = Sent | Transient | Permanent


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header's seconds; None when absent or an HTTP date (then the backoff applies)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class Channel:
    """One way to reach a user. Each channel module declares the class attributes below (see `Naming`)."""

    name: str = ""
    label: str = ""
    in_words: str = ""
    setup_hint: str = ""
    daily_cap: int | None = None  # at most this many deal messages per user per local day (SMS: 5)
    # How the policy words an address that exists but cannot be used, after "Email is …".
    unverified_words: str = "not verified yet"
    disabled_words: str = "off because the address stopped working"
    opted_out_words: str = "off because you asked the provider to stop"

    def configured(self) -> bool:
        """Whether this site can send on this channel at all (its provider's settings are there)."""
        return True

    def addresses(self, user: "User", stored: list["Address"]) -> list["Address"]:
        """The user's addresses on this channel, each with its state; `stored` are their `Address` rows here.

        For the channels whose address lives on the user (email, phone) this is an unsaved `Address`
        carrying the value and the state of its stored row, if there is one for this very value.
        """
        return stored

    def unreachable_because(self, user: "User", prefs: "NotificationPreferences", addresses: list["Address"]) -> str:
        """Why this channel cannot reach the user now, as the policy words it after "SMS is …"; "" when it can."""
        if not addresses:
            return "not set up"
        live = [a for a in addresses if a.disabled_at is None]
        if not live:
            return self.disabled_words
        if not any(a.verified_at is not None for a in live):
            return self.unverified_words
        if all(a.opted_out_at is not None for a in live):
            return self.opted_out_words
        return ""

    def blocked_because(self, user: "User", prefs: "NotificationPreferences", addresses: list["Address"]) -> str:
        """Why a delivery queued earlier must not go out now (the address changed or died); "" when it may."""
        return self.unreachable_because(user, prefs, addresses)

    @contextmanager
    def session(self) -> Iterator[None]:
        """Hold a provider connection open across a batch of sends."""
        yield

    def send(self, address: "Address", message: Message, key: str) -> Result:
        """Send `message` to `address`; `key` identifies this send, so a provider can tell a re-send by it."""
        raise NotImplementedError

    def can_find_sent(self) -> bool:
        """Whether `find_sent` can really ask the provider (else it always answers None)."""
        return False

    def find_sent(self, key: str) -> str | None:
        """The provider's id for the send with this key when the provider already has it, else None.

        Asked before re-sending a delivery whose worker died mid-send: a provider that can be
        searched by our key lets us settle it without sending twice.
        """
        return None
