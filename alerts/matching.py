"""The one matching predicate, and an index of rules that finds the candidates for a listing.

Pure: no ORM, no clock, no settings. `match(rule, listing)` decides; `RuleIndex`
only prunes (a percolator: keyword word -> rules, category -> rules), and every
candidate it returns is decided by `match`, so the index can never disagree with
the predicate — it can only be slower or faster.

The rules (documented in the README):
- text = title + description, Unicode-normalised, accents and case folded, split
  into words; a keyword matches whole words ("pc" is not in "pcie"), a keyword of
  several words matches them adjacent ("gaming pc"), English plurals fold.
- keywords: any one (OR); exclude_keywords: any one vetoes.
- categories: any one, a parent including its children (expanded before here).
- condition: exact, when set. min_price <= price <= max_price, inclusive.
- location: within radius_mi miles, great-circle between ZIP centroids.
- min_deal_score: deal_score >= it; an unscored listing does not meet a minimum.
- only active listings; a paused rule matches nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from accounts.geo import distance_miles
from listings.text import words

Phrase = tuple[str, ...]


def phrase(keyword: str) -> Phrase:
    """A keyword as the word sequence it must match ("Gaming PCs" -> ("gaming", "pc"))."""
    return tuple(words(keyword))


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What the predicate needs of a rule; built from a DealAlertRule by `alerts.services`."""

    id: int
    user_id: int
    enabled: bool = True
    keywords: tuple[tuple[str, Phrase], ...] = ()  # (as the user wrote it, its words)
    excludes: tuple[tuple[str, Phrase], ...] = ()
    category_ids: frozenset[int] = frozenset()  # already expanded with descendants
    condition: str = ""
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    center: tuple[float, float] | None = None
    radius_mi: float | None = None
    location_unresolved: bool = False  # a radius with no ZIP to measure from: matches nothing
    min_deal_score: float | None = None


@dataclass(frozen=True, slots=True)
class ListingFacts:
    """What the predicate needs of a listing."""

    id: int
    words: tuple[str, ...]
    category_id: int
    condition: str
    price: Decimal
    latitude: float | None
    longitude: float | None
    deal_score: float | None
    is_active: bool = True
    word_set: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def build(cls, *, id: int, title: str, description: str, **facts) -> "ListingFacts":
        text_words = tuple(words(f"{title} {description}"))
        return cls(id=id, words=text_words, word_set=frozenset(text_words), **facts)


@dataclass(frozen=True, slots=True)
class Why:
    """Why a listing matched a rule, in data (stored on the match) and in words."""

    keyword: str | None
    price: str
    distance_mi: float | None
    deal_score: float | None

    def as_dict(self) -> dict:
        return {
            "keyword": self.keyword,
            "price": self.price,
            "distance_mi": self.distance_mi,
            "deal_score": self.deal_score,
        }

    def sentence(self) -> str:
        parts = [f'mentions "{self.keyword}"'] if self.keyword else []
        parts.append(self.price)
        if self.distance_mi is not None:
            parts.append(f"{self.distance_mi:.1f} mi away")
        if self.deal_score is not None:
            parts.append(f"deal score {self.deal_score:.2f}")
        return "; ".join(parts)


def contains(listing: ListingFacts, words_: Phrase) -> bool:
    """Whole-word (and, for several words, adjacent) containment."""
    if not words_ or words_[0] not in listing.word_set:
        return False
    if len(words_) == 1:
        return True
    n, text = len(words_), listing.words
    return any(text[i : i + n] == words_ for i in range(len(text) - n + 1) if text[i] == words_[0])


def _price_note(rule: RuleSpec, price: Decimal) -> str:
    if rule.min_price is not None and rule.max_price is not None:
        return f"${price:,.2f} is within ${rule.min_price:,.2f}–${rule.max_price:,.2f}"
    if rule.max_price is not None:
        return f"${price:,.2f} is at most ${rule.max_price:,.2f}"
    if rule.min_price is not None:
        return f"${price:,.2f} is at least ${rule.min_price:,.2f}"
    return f"${price:,.2f}"


def match(rule: RuleSpec, listing: ListingFacts) -> Why | None:
    """The predicate: why `listing` matches `rule`, or None."""
    if not rule.enabled or not listing.is_active or rule.location_unresolved:
        return None
    if rule.category_ids and listing.category_id not in rule.category_ids:
        return None
    if rule.condition and listing.condition != rule.condition:
        return None
    if rule.min_price is not None and listing.price < rule.min_price:
        return None
    if rule.max_price is not None and listing.price > rule.max_price:
        return None
    if rule.min_deal_score is not None and (listing.deal_score is None or listing.deal_score < rule.min_deal_score):
        return None
    distance = None
    if rule.center is not None:
        if listing.latitude is None or listing.longitude is None:
            return None
        distance = distance_miles(rule.center[0], rule.center[1], listing.latitude, listing.longitude)
        if distance > rule.radius_mi:
            return None
        distance = round(distance, 1)
    keyword = None
    if rule.keywords:
        keyword = next((written for written, words_ in rule.keywords if contains(listing, words_)), None)
        if keyword is None:
            return None
    if any(contains(listing, words_) for _, words_ in rule.excludes):
        return None
    return Why(
        keyword=keyword, price=_price_note(rule, listing.price), distance_mi=distance, deal_score=listing.deal_score
    )


class RuleIndex:
    """Enabled rules, indexed so a listing meets only the rules that could match it.

    A rule with keywords is filed under the first word of each keyword, per category
    it covers (or under "any category"); a rule without keywords under its
    categories (or in a short list of category-free rules). A listing looks up
    its words in its own category and in "any category".
    """

    ANY = -1

    def __init__(self, rules: Iterable[RuleSpec]) -> None:
        self.rules: list[RuleSpec] = []
        self._by_word: dict[tuple[str, int], list[int]] = {}
        self._by_category: dict[int, list[int]] = {}
        self._unfiled: list[int] = []
        for rule in rules:
            if not rule.enabled or rule.location_unresolved:
                continue
            position = len(self.rules)
            self.rules.append(rule)
            categories = rule.category_ids or (self.ANY,)
            if rule.keywords:
                first_words = {words_[0] for _, words_ in rule.keywords if words_}
                for word in first_words:
                    for category_id in categories:
                        self._by_word.setdefault((word, category_id), []).append(position)
            elif rule.category_ids:
                for category_id in rule.category_ids:
                    self._by_category.setdefault(category_id, []).append(position)
            else:
                self._unfiled.append(position)

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, listing: ListingFacts) -> set[int]:
        found: set[int] = set(self._unfiled)
        found.update(self._by_category.get(listing.category_id, ()))
        by_word = self._by_word
        for word in listing.word_set:
            found.update(by_word.get((word, listing.category_id), ()))
            found.update(by_word.get((word, self.ANY), ()))
        return found

    def match(self, listing: ListingFacts) -> list[tuple[RuleSpec, Why]]:
        if not listing.is_active:
            return []
        matched = []
        for position in sorted(self.candidates(listing)):
            rule = self.rules[position]
            if (why := match(rule, listing)) is not None:
                matched.append((rule, why))
        return matched
