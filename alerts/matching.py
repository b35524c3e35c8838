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

import math
import sys
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from itertools import pairwise

from accounts.geo import EARTH_RADIUS_MI, distance_miles
from listings.formatting import deal_score, money
from listings.text import words

Phrase = tuple[str, ...]


@lru_cache(maxsize=4096)
def phrase(keyword: str) -> Phrase:
    """A keyword as the word sequence it must match ("Gaming PCs" -> ("gaming", "pc"))."""
    return tuple(sys.intern(word) for word in words(keyword))


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

    def __post_init__(self) -> None:
        # A million rules share a few thousand keywords, category sets, prices and places: keep
        # one object per distinct value (equal values of the same type only, so no rule changes).
        for name in _SHARED_FIELDS:
            value = getattr(self, name)
            if value is not None and (shared := _share(value)) is not value:
                object.__setattr__(self, name, shared)


# --- one object per distinct value among the rules of an index -----------------------------------

_SHARED_FIELDS = (
    "user_id",
    "keywords",
    "excludes",
    "category_ids",
    "condition",
    "min_price",
    "max_price",
    "center",
    "radius_mi",
    "min_deal_score",
)
_shared: dict[tuple, object] = {}  # (type, exact key) -> the one object; cleared after each index build
_SHARED_LIMIT = 1 << 20


def _share(value):
    """The one object equal to `value` (same type, same representation); `value` itself the first time."""
    kind = type(value)
    if kind is tuple:
        if not value:
            return value
        if kind is tuple and all(type(item) is tuple for item in value):  # keywords: ((written, words), ...)
            value = tuple(_share_keyword(item) for item in value)
            if len(value) > 1:
                return value  # combinations are mostly unique: only their parts are shared
            key = (tuple, value)
        else:  # a centre: (latitude, longitude)
            key = (tuple, *(repr(item) for item in value), *(type(item) for item in value))
    elif kind is str:
        return sys.intern(value)
    elif kind is float or kind is Decimal:
        key = (kind, str(value))
    elif kind is int:
        key = (int, value)  # a user's rules share their user id
    elif kind is frozenset:
        if not all(type(item) is int for item in value):
            return value
        key = (frozenset, value)
    else:
        return value
    return _intern(key, value)


def _intern(key, value):
    """The value stored under `key`, storing `value` there first if none is (the table is bounded)."""
    found = _shared.get(key)
    if found is None:
        if len(_shared) >= _SHARED_LIMIT:
            _shared.clear()
        _shared[key] = found = value
    return found


def _share_keyword(item: tuple):
    """One (written, words) pair per distinct value: the pair is its own key (nothing else is a 2-tuple of str)."""
    if len(item) != 2 or type(item[0]) is not str or type(item[1]) is not tuple:
        return item
    if not all(type(word) is str for word in item[1]):
        return item
    return _intern(item, item)


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

    @classmethod
    def stored(cls, *, id: int, search_words: str, **facts) -> "ListingFacts":
        """From a stored listing, whose `search_words` ingestion wrote as `listing_words(title, description)`:
        the same words `build` would fold, read instead of folded again."""
        text_words = tuple(search_words.split())
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
        parts = [f"mentions “{self.keyword}”"] if self.keyword else []
        parts.append(self.price)
        if self.distance_mi is not None:
            parts.append(f"{self.distance_mi:.1f} mi away")
        if self.deal_score is not None:
            parts.append(f"deal score {deal_score(self.deal_score)}")
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
        return f"{money(price)} is within {money(rule.min_price)}–{money(rule.max_price)}"
    if rule.max_price is not None:
        return f"{money(price)} is at most {money(rule.max_price)}"
    if rule.min_price is not None:
        return f"{money(price)} is at least {money(rule.min_price)}"
    return money(price)


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

    A rule with keywords is filed under the first word of each keyword (the first two
    words, as a pair, for a keyword of several: a text containing it has them adjacent),
    per category it covers (or under "any category"); a rule without keywords under its
    categories (or under "any category"). A listing looks up its words and its adjacent
    word pairs in its own category and in "any category".

    Each filing is a bucket sorted by maximum price, so a listing skips, by bisection,
    every rule whose maximum is below its price; the rest are pruned by a per-rule
    signature (minimum price, minimum deal score, condition, latitude band of the
    radius) before `match` decides. Prices compare as floats, which rounding keeps
    monotonic, so a rule is skipped only when `match` would surely say no.
    """

    ANY = -1

    def __init__(self, rules: Iterable[RuleSpec]) -> None:
        self.rules: list[RuleSpec] = []
        self._signatures: list[tuple] = []  # per position: (min price, min deal score, condition, lat band)
        uppers: list[float] = []  # per position: the maximum price key
        # A keyword's first word, or its first two words (adjacent in any text containing it); None: no keywords
        by_word: dict[str | tuple[str, str] | None, list[int]] = {}
        shared: dict = {}  # one object per distinct signature or price key
        for rule in rules:
            if not rule.enabled or rule.location_unresolved:
                continue
            position = len(self.rules)
            self.rules.append(rule)
            signature = (_lower(rule.min_price), _score_floor(rule), rule.condition, *_latitude_band(rule))
            self._signatures.append(shared.setdefault(signature, signature))
            upper = _upper(rule.max_price)
            uppers.append(shared.setdefault(("max", upper), upper))
            if rule.keywords:
                for key in {words_[0] if len(words_) == 1 else words_[:2] for _, words_ in rule.keywords if words_}:
                    by_word.setdefault(key, []).append(position)
            else:
                by_word.setdefault(None, []).append(position)
        # word -> {category id (or ANY): (maximum price keys ascending, positions)}
        self._buckets: dict[str | tuple[str, str] | None, dict[int, tuple[tuple[float, ...], tuple[int, ...]]]] = {}
        self._pairs = any(type(key) is tuple for key in by_word)
        while by_word:
            word, positions = by_word.popitem()
            by_category: dict[int, list[int]] = {}
            for position in positions:
                for category_id in self.rules[position].category_ids or (self.ANY,):
                    by_category.setdefault(category_id, []).append(position)
            alike: dict[tuple[int, ...], tuple] = {}  # a parent category fills its children's buckets alike
            per_category = self._buckets[word] = {}
            for category_id, members in by_category.items():
                members.sort(key=uppers.__getitem__)  # stable: equal maxima stay in rule order
                key = tuple(members)
                if (bucket := alike.get(key)) is None:
                    alike[key] = bucket = (tuple([uppers[p] for p in key]), key)
                per_category[category_id] = bucket
        _shared.clear()  # the rules keep their shared values; the next build starts afresh

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, listing: ListingFacts) -> set[int]:
        """Positions of the rules `match` must decide for `listing` (never fewer than could match)."""
        buckets = []
        category_id, any_ = listing.category_id, self.ANY
        by_word = self._buckets
        keys = (None, *listing.word_set)
        if self._pairs:
            keys += tuple(set(pairwise(listing.words)))
        for key in keys:
            per_category = by_word.get(key)
            if per_category is not None:
                if (bucket := per_category.get(category_id)) is not None:
                    buckets.append(bucket)
                if category_id != any_ and (bucket := per_category.get(any_)) is not None:
                    buckets.append(bucket)
        if not buckets:
            return set()
        price_low, price_high = _price_keys(listing.price)
        score = NEG_INF if listing.deal_score is None else listing.deal_score
        condition = listing.condition
        lat_low, lat_high = _listing_band(listing)
        signatures = self._signatures
        found: set[int] = set()
        for uppers, positions in buckets:
            for position in positions[bisect_left(uppers, price_low) :]:
                min_price, min_score, rule_condition, south, north = signatures[position]
                if (
                    min_price <= price_high
                    and not score < min_score
                    and (not rule_condition or rule_condition == condition)
                    and south <= lat_low
                    and lat_high <= north
                ):
                    found.add(position)
        return found

    def match(self, listing: ListingFacts) -> list[tuple[RuleSpec, Why]]:
        if not listing.is_active:
            return []
        matched = []
        rules = self.rules
        for position in sorted(self.candidates(listing)):
            rule = rules[position]
            if (why := match(rule, listing)) is not None:
                matched.append((rule, why))
        return matched


# --- pruning keys: each one errs towards keeping a rule ------------------------------------------

NEG_INF, POS_INF = -math.inf, math.inf
# Degrees of latitude per mile along a meridian; with a relative and an absolute margin that
# swamp float rounding, |latitude - centre| beyond radius * this means the distance exceeds it.
_DEGREES_PER_MILE = 180 / (math.pi * EARTH_RADIUS_MI)
_MARGIN = 1e-9


def _as_float(value) -> float:
    """A number as a float (anything else, or NaN: NaN, which prunes nothing). Correct rounding keeps order."""
    if type(value) not in (int, float, Decimal):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError, ArithmeticError):
        return math.nan


def _lower(value) -> float:
    """A rule's minimum price as a float that is never above it (no minimum: -inf)."""
    number = _as_float(value)
    return NEG_INF if math.isnan(number) else number


def _upper(value) -> float:
    """A rule's maximum price as a float that is never below it (no maximum: +inf)."""
    number = _as_float(value)
    return POS_INF if math.isnan(number) else number


def _score_floor(rule: RuleSpec):
    """The rule's minimum deal score; -inf when it has none (an unscored listing then passes)."""
    return NEG_INF if rule.min_deal_score is None else rule.min_deal_score


def _latitude_band(rule: RuleSpec) -> tuple[float, float]:
    """Latitudes a listing must lie between to be within the rule's radius; (-inf, +inf) without one."""
    if rule.center is None:
        return NEG_INF, POS_INF
    latitude, longitude = _as_float(rule.center[0]), _as_float(rule.center[1])
    radius = _as_float(rule.radius_mi)
    if not (math.isfinite(latitude) and math.isfinite(longitude) and -90 <= latitude <= 90) or math.isnan(radius):
        return NEG_INF, POS_INF  # distances here are not plain numbers: let `match` decide
    reach = radius * _DEGREES_PER_MILE * (1 + _MARGIN) + _MARGIN if radius >= 0 else -1.0
    return latitude - reach, latitude + reach


def _listing_band(listing: ListingFacts) -> tuple[float, float]:
    """(low, high) such that a rule's band (south, north) is kept when south <= low and high <= north."""
    if listing.latitude is None or listing.longitude is None:
        return NEG_INF, NEG_INF  # keeps rules without a usable band only (a radius needs a place)
    latitude, longitude = _as_float(listing.latitude), _as_float(listing.longitude)
    if not (math.isfinite(latitude) and math.isfinite(longitude) and -90 <= latitude <= 90):
        return POS_INF, NEG_INF  # keeps every rule
    return latitude, latitude


def _price_keys(price) -> tuple[float, float]:
    """(key to bisect maximum prices at, key minimum prices must not exceed) for a listing price."""
    number = _as_float(price)
    if math.isnan(number):
        return NEG_INF, POS_INF  # keeps every rule
    return number, number
