"""The recommender's decisions, as pure functions over plain values (no database).

Second-hand listings are one of a kind and gone within days, so nothing is learned per listing id.
A listing is described by the *tokens* it shares with others — its category and parent category,
the brand and model words of its title, its price band within the category, its condition — and a
user's taste is a weighted bag of those tokens, built from what they viewed, watched and bought
(recent signals weigh more) minus what they said they were not interested in. "Similar users" work
at the same level: a `TasteModel` fitted on every user's tokens says which tokens go together
("people who watch gaming laptops also look at 144 Hz monitors").

A candidate's score is a sum of named parts, so the reason can say exactly what each contributed:

    score = 0.55 × taste match (direct signals + similar users − not interested, scaled per user)
          + 0.20 × deal score + 0.10 × freshness + 0.15 × nearness to the user's home ZIP

Users without positive signals get the cold-start answer: the taste part is the category's
popularity this week, so they see good deals near them in popular categories.
"""

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np
from scipy import sparse

from listings.text import key_words, words

LIMIT = 10
MAX_PER_CATEGORY = 3
# Listings older than this are stale: marketplaces expire them by age, and a good one sells in days.
MAX_AGE = timedelta(days=21)
# Signals fade: one from a fortnight ago counts half as much as one from today.
HALF_LIFE_DAYS = 14.0
SIGNAL_WINDOW = timedelta(days=90)

# How much each kind of signal says about taste. A purchase says "I like these" but also "I have one".
SIGNAL_WEIGHTS = {"view": 1.0, "watch": 3.0, "purchase": 2.0}
DISMISSAL_WEIGHT = 3.0

W_TASTE, W_DEAL, W_FRESH, W_NEAR = 0.55, 0.20, 0.10, 0.15
SIMILAR_USERS_SHARE = 0.5  # similar users' part of the taste match, against the user's own signals
NOT_INTERESTED_PENALTY = 0.8
FRESH_DAYS = 5.0  # freshness halves about every 3.5 days
NEAR_MILES = 15.0  # nearness is 1/2 at this distance

# A listing's tokens and their share of it (each listing's shares sum to 1).
CATEGORY_SHARE, PARENT_SHARE, WORDS_SHARE, BAND_SHARE, CONDITION_SHARE = 0.35, 0.10, 0.35, 0.15, 0.05
TITLE_WORDS = 4
ENCODED_LIMIT = 500_000  # listings whose token columns a vocabulary remembers
BAND_BASE = math.log(1.8)  # a price band spans ×1.8 ($100–180, $180–324, …)

_RAW_WORD_RE = re.compile(r"[^\W_]+")
_DEAL_RE = re.compile(r"^(\d+)% (below|above)")


@dataclass(frozen=True, slots=True)
class Facts:
    """What the recommender knows of one listing."""

    id: int
    category_id: int
    parent_id: int | None
    title: str
    price: Decimal
    condition: str
    latitude: float | None
    longitude: float | None
    deal_score: float | None
    deal_explanation: str
    first_seen_at: datetime
    seller: str = ""
    zip_code: str = ""


@dataclass(frozen=True, slots=True)
class Signal:
    kind: str  # "view" | "watch" | "purchase" | "dismissal"
    listing: Facts
    at: datetime


@dataclass(slots=True)
class Shopper:
    """One user as the recommender sees them."""

    id: int
    latitude: float | None = None
    longitude: float | None = None
    signals: list[Signal] = field(default_factory=list)
    excluded: set[int] = field(default_factory=set)  # listing ids never to recommend


@dataclass(frozen=True, slots=True)
class Contribution:
    # browsing, saved, purchases, category_affinity, similar_users, not_interested, popular (cold start),
    # deal, freshness, distance
    signal: str
    label: str
    weight: float
    miles: float | None = None  # for distance: what the reason checks before mentioning it

    def as_dict(self) -> dict:
        return {"signal": self.signal, "label": self.label, "weight": round(self.weight, 4)}


@dataclass(frozen=True, slots=True)
class Pick:
    listing_id: int
    score: float
    reason: str
    signals: tuple[Contribution, ...]

    def as_dict(self) -> dict:
        return {
            "listing_id": self.listing_id,
            "score": round(self.score, 4),
            "reason": self.reason,
            "signals": [c.as_dict() for c in self.signals],
        }


# --- tokens ------------------------------------------------------------------------------------


def price_band(price: Decimal | float) -> int:
    return int(math.log(float(price) + 1.0) / BAND_BASE)


@lru_cache(maxsize=200_000)
def listing_tokens(facts: Facts) -> dict[str, float]:
    """The tokens a listing shares with others, with their share of it (summing to 1)."""
    tokens: dict[str, float] = {f"c{facts.category_id}": CATEGORY_SHARE}
    rest = PARENT_SHARE
    if facts.parent_id is not None:
        tokens[f"p{facts.parent_id}"] = PARENT_SHARE
        rest = 0.0
    title_words = list(dict.fromkeys(w for w in key_words(facts.title) if not w.isdigit()))[:TITLE_WORDS]
    words_share = WORDS_SHARE + rest
    if title_words:
        for word in title_words:
            tokens[f"w{word}"] = words_share / len(title_words)
    else:
        tokens[f"c{facts.category_id}"] += words_share
    tokens[f"b{facts.category_id}:{price_band(facts.price)}"] = BAND_SHARE
    tokens[f"k{facts.condition or 'unknown'}"] = CONDITION_SHARE
    return tokens


class Vocabulary:
    """Token → column, growing as new tokens are met."""

    def __init__(self, tokens: Iterable[str] = ()):
        self.index: dict[str, int] = {}
        self._encoded: dict[Facts, tuple[list[int], list[float]]] = {}
        for token in tokens:
            self.add(token)

    def add(self, token: str) -> int:
        column = self.index.get(token)
        if column is None:
            column = self.index[token] = len(self.index)
        return column

    def __len__(self) -> int:
        return len(self.index)

    def encode(self, facts: Facts) -> tuple[list[int], list[float]]:
        """A listing's (columns, shares), remembered per listing as it is now (an edited one is new)."""
        key = facts
        found = self._encoded.get(key)
        if found is None:
            if len(self._encoded) > ENCODED_LIMIT:
                self._encoded.clear()
            tokens = listing_tokens(facts)
            found = self._encoded[key] = ([self.add(t) for t in tokens], list(tokens.values()))
        return found


def listing_matrix(listings: Sequence[Facts], vocabulary: Vocabulary) -> sparse.csr_matrix:
    """listings × tokens, each row a listing's token shares."""
    rows, cols, values = [], [], []
    for row, facts in enumerate(listings):
        for token, share in listing_tokens(facts).items():
            rows.append(row)
            cols.append(vocabulary.add(token))
            values.append(share)
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(listings), len(vocabulary)), dtype=np.float32)


def decay(at: datetime, now: datetime) -> float:
    age_days = max(0.0, (now - at).total_seconds() / 86400)
    return 0.5 ** (age_days / HALF_LIFE_DAYS)


KINDS = ("view", "watch", "purchase", "dismissal")


def kind_rows(shoppers: Sequence[Shopper], vocabulary: Vocabulary, now: datetime) -> dict[str, sparse.csr_matrix]:
    """{kind: shoppers × tokens}, the decayed, weighted tokens of each kind of signal, in one pass."""
    parts: dict[str, tuple[list, list, list]] = {kind: ([], [], []) for kind in KINDS}
    now_s = now.timestamp()
    for row, shopper in enumerate(shoppers):
        for signal in shopper.signals:
            rows, cols, values = parts[signal.kind]
            age_days = max(0.0, (now_s - signal.at.timestamp()) / 86400)
            weight = SIGNAL_WEIGHTS.get(signal.kind, DISMISSAL_WEIGHT) * 0.5 ** (age_days / HALF_LIFE_DAYS)
            columns, shares = vocabulary.encode(signal.listing)
            rows.extend([row] * len(columns))
            cols.extend(columns)
            values.extend([weight * share for share in shares])
    shape = (len(shoppers), len(vocabulary))
    return {
        kind: sparse.csr_matrix((values, (rows, cols)), shape=shape, dtype=np.float32)
        for kind, (rows, cols, values) in parts.items()
    }


def widen(matrix: sparse.csr_matrix, columns: int) -> sparse.csr_matrix:
    """The same matrix with room for tokens added to the vocabulary since it was built."""
    if matrix.shape[1] == columns:
        return matrix
    return sparse.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], columns))


def row_max_scale(matrix: sparse.csr_matrix) -> np.ndarray:
    """1 / each row's largest value (0 for an empty row), to put every user on the same scale."""
    largest = matrix.max(axis=1).toarray().ravel() if matrix.nnz else np.zeros(matrix.shape[0])
    with np.errstate(divide="ignore"):
        return np.where(largest > 0, 1.0 / np.where(largest > 0, largest, 1.0), 0.0).astype(np.float32)


# --- the parts of a score ----------------------------------------------------------------------


def freshness(first_seen: np.ndarray, now: datetime) -> np.ndarray:
    age_days = np.maximum(0.0, (now.timestamp() - first_seen) / 86400.0)
    return np.exp(-age_days / FRESH_DAYS)


def miles_between(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Haversine miles from one point to many (NaN where a listing has no place)."""
    phi1, phi2 = math.radians(lat), np.radians(lats)
    a = np.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(np.radians(lons - lon) / 2) ** 2
    return 2 * 3958.7613 * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def deal_words(facts: Facts) -> str:
    """The deal in a few words: "38% below similar listings", "Free", "At the usual price"."""
    if facts.price == 0:
        return "Free"
    if match := _DEAL_RE.match(facts.deal_explanation or ""):
        return f"{match.group(1)}% {match.group(2)} similar listings"
    if (facts.deal_explanation or "").startswith("At the median"):
        return "At the usual price"
    if facts.deal_score is not None:
        return f"Deal score {facts.deal_score:.0%}"
    return "Not enough similar listings to compare"


def distance_words(miles: float) -> str:
    if miles < 1:
        return "Under a mile away"
    rounded = round(miles)
    return f"{rounded} mile{'s' if rounded != 1 else ''} away"


# --- labels for the reasons --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Names:
    """How to say a token in words: category names by id."""

    categories: Mapping[int, str]

    def category(self, category_id: int | None) -> str:
        return self.categories.get(category_id or 0, "this category")

    def token(self, token: str) -> str:
        kind, rest = token[0], token[1:]
        if kind in "cp":
            return self.category(int(rest))
        if kind == "w":
            return f"“{rest}”"
        if kind == "b":
            category_id, band = rest.split(":")
            low, high = math.exp(int(band) * BAND_BASE) - 1, math.exp((int(band) + 1) * BAND_BASE) - 1
            return f"${low:,.0f}–{high:,.0f} {self.category(int(category_id)).lower()}"
        return f"{rest} condition"


def _as_written(word: str, title: str) -> str:
    """A folded title word as the title spells it ("lg" → "LG"), for the reason."""
    for raw in _RAW_WORD_RE.findall(title):
        if words(raw) == [word]:
            return raw
    return word


# Words titles share that say nothing of taste ("22 inch monitors").
DULL_WORDS = frozenset("inch cm mm gb tb lb ft set pair lot box shape barely used size".split())


@lru_cache(maxsize=100_000)
def _key_words(text: str) -> tuple[str, ...]:
    return tuple(key_words(text))


@lru_cache(maxsize=100_000)
def _title_words(title: str) -> frozenset[str]:
    return frozenset(_key_words(title))


def _shared_word(candidate: Facts, others: Sequence[Facts], skip: Iterable[str] = (), counts=None) -> str | None:
    """A title word of the candidate that at least half (and two) of `others` share: the most shared,
    then the earliest in the title; never one of `skip` (the category's own words). `counts`: the
    words of `others` counted, when the caller has them already."""
    skipped = set(skip) | DULL_WORDS
    mine = [w for w in dict.fromkeys(_key_words(candidate.title)) if not w.isdigit() and w not in skipped]
    if counts is None:
        counts = _word_counts(others)
    shared = {w: counts[w] for w in mine if counts.get(w)}
    if not shared:
        return None
    word = min(shared, key=lambda w: (-shared[w], mine.index(w)))
    return word if shared[word] * 2 >= len(others) and shared[word] >= 2 else None


def _word_counts(listings: Sequence[Facts]) -> Counter:
    return Counter(w for listing in listings for w in _title_words(listing.title))


def _like_this(kind: str, candidate: Facts, signals: Sequence[Signal], names: Names, now: datetime):
    """(place, period, listings, their title words counted): the user's `kind` signals in the
    candidate's category (else its parent's, else any), over the period named — this week's if
    any, else this month's."""
    same = [s for s in signals if s.kind == kind and s.listing.category_id == candidate.category_id]
    if not same:  # the match came through the parent category or shared words
        same = [s for s in signals if s.kind == kind and s.listing.parent_id == candidate.parent_id]
        place = names.category(candidate.parent_id)
    else:
        place = names.category(candidate.category_id)
    if not same:
        same = [s for s in signals if s.kind == kind]
        place = "listings like this"
    when = "recently"
    for period, span in (("this week", timedelta(days=7)), ("this month", timedelta(days=31))):
        recent = [s for s in same if now - s.at <= span]
        if recent:
            same, when = recent, period
            break
    listings = list({s.listing.id: s.listing for s in same}.values())
    return place, when, listings, _word_counts(listings)


def personal_label(
    kind: str, candidate: Facts, signals: Sequence[Signal], names: Names, now: datetime, like_this=None
) -> str:
    """ "You viewed 4 gaming laptops this week": the user's own signals of `kind` like this one.
    `like_this`: `_like_this`'s answer when the caller has it already (it depends on the category only)."""
    place, when, listings, counts = like_this or _like_this(kind, candidate, signals, names, now)
    count = len(listings)
    word = _shared_word(candidate, listings, skip=_key_words(place), counts=counts)
    what = f"{_as_written(word, candidate.title)} {place.lower()}" if word else place.lower()
    if kind == "view":
        return f"You viewed {count} {what} {when}" if count > 1 else f"You viewed one of these ({what}) {when}"
    if kind == "watch":
        return f"You're watching {count} {what}" if count > 1 else f"You're watching one in {place}"
    return f"You bought {count} {what}" if count > 1 else f"You bought one in {place}"


# --- ranking -----------------------------------------------------------------------------------


@dataclass
class Candidates:
    """The listings a batch may be recommended, with what scoring needs as arrays."""

    listings: list[Facts]
    matrix: sparse.csr_matrix
    deal: np.ndarray
    first_seen: np.ndarray
    lats: np.ndarray
    lons: np.ndarray
    categories: np.ndarray
    column: dict[int, int]  # listing id → row

    @classmethod
    def build(cls, listings: Sequence[Facts], vocabulary: Vocabulary) -> "Candidates":
        listings = list(listings)
        return cls(
            listings=listings,
            matrix=listing_matrix(listings, vocabulary),
            deal=np.array([0.5 if f.deal_score is None else f.deal_score for f in listings], dtype=np.float32),
            first_seen=np.array([f.first_seen_at.timestamp() for f in listings], dtype=np.float64),
            lats=np.array([np.nan if f.latitude is None else f.latitude for f in listings], dtype=np.float64),
            lons=np.array([np.nan if f.longitude is None else f.longitude for f in listings], dtype=np.float64),
            categories=np.array([f.category_id for f in listings], dtype=np.int64),
            column={f.id: row for row, f in enumerate(listings)},
        )


class TasteSource:
    """What the collaborative model offers the ranking (see `collaborative.TasteModel`)."""

    def expand(self, profiles: sparse.csr_matrix, vocabulary: Vocabulary) -> sparse.csr_matrix | np.ndarray:
        raise NotImplementedError

    def suggester(self, profile: dict[str, float]) -> Callable[[str], str | None]:
        """For one user's profile: given a token, the user's token that most suggests it, or None."""
        raise NotImplementedError


def rank(
    shoppers: Sequence[Shopper],
    candidates: Candidates,
    vocabulary: Vocabulary,
    now: datetime,
    *,
    names: Names,
    similar: TasteSource | None = None,
    popular: Mapping[int, float] | None = None,
    limit: int = LIMIT,
    diversify: bool = True,
    explain: bool = True,
    focus: int | None = None,
) -> dict[int, list[Pick]]:
    """Each shopper's best `limit` candidates, best first, never more than 3 from one category.

    With `focus` (a candidate's listing id), only that listing's pick, scored as in the ranking and
    whether or not it would be shown: "why would this be recommended to me?".
    """
    if not shoppers:
        return {}
    if not candidates.listings:
        return {s.id: [] for s in shoppers}
    by_kind = kind_rows(shoppers, vocabulary, now)
    by_kind = {kind: widen(matrix, len(vocabulary)) for kind, matrix in by_kind.items()}
    positive = by_kind["view"] + by_kind["watch"] + by_kind["purchase"]
    negative = by_kind["dismissal"]
    width = len(vocabulary)
    items = widen(candidates.matrix, width)
    positive, negative = widen(positive, width), widen(negative, width)

    direct = sparse.diags(row_max_scale(positive)) @ positive
    match = (direct @ items.T).toarray()
    collab = np.zeros_like(match)
    if similar is not None and positive.nnz:
        expanded = similar.expand(positive, vocabulary)
        expanded = sparse.csr_matrix(expanded) if not sparse.issparse(expanded) else expanded.tocsr()
        expanded = widen(expanded, width)
        collab = (sparse.diags(row_max_scale(expanded)) @ expanded @ items.T).toarray() * SIMILAR_USERS_SHARE
    penalty = (sparse.diags(row_max_scale(negative)) @ negative @ items.T).toarray() * NOT_INTERESTED_PENALTY
    taste = match + collab - penalty

    cold = positive.getnnz(axis=1) == 0
    if cold.any():
        popularity = np.array([(popular or {}).get(int(c), 0.0) for c in candidates.categories], dtype=np.float32)
        taste[cold] = popularity - penalty[cold]
    top = np.maximum(taste.max(axis=1, keepdims=True), 1e-9)
    taste_part = W_TASTE * taste / top
    base = W_DEAL * candidates.deal + W_FRESH * freshness(candidates.first_seen, now)

    tokens_by_column = list(vocabulary.index)
    results: dict[int, list[Pick]] = {}
    for row, shopper in enumerate(shoppers):
        near = np.zeros(len(candidates.listings))
        miles = None
        if shopper.latitude is not None and shopper.longitude is not None:
            miles = miles_between(shopper.latitude, shopper.longitude, candidates.lats, candidates.lons)
            near = np.nan_to_num(1.0 / (1.0 + miles / NEAR_MILES), nan=0.0)
        total = taste_part[row] + base + W_NEAR * near
        if focus is not None:
            chosen = [candidates.column[focus]] if focus in candidates.column else []
        else:
            for listing_id in shopper.excluded:
                if (column := candidates.column.get(listing_id)) is not None:
                    total[column] = -np.inf
            chosen = _choose(total, candidates.categories, limit, diversify)
        explainer = (
            _Explainer(
                shopper,
                now,
                names,
                similar,
                _as_dict(direct, row, tokens_by_column),
                _as_dict(positive, row, tokens_by_column),
                {kind: _as_dict(by_kind[kind], row, tokens_by_column) for kind in SIGNAL_WEIGHTS},
            )
            if explain
            else None
        )
        picks = []
        for column in chosen:
            if not np.isfinite(total[column]):
                break
            facts = candidates.listings[column]
            parts: tuple[Contribution, ...] = ()
            if explainer is not None:
                deal = float(W_DEAL * candidates.deal[column])
                parts = explainer.parts(
                    facts,
                    taste_scale=W_TASTE / float(top[row, 0]),
                    collab=float(collab[row, column]),
                    penalty=float(penalty[row, column]),
                    cold_taste=float(taste[row, column]) if cold[row] else None,
                    deal=deal,
                    fresh=float(base[column]) - deal,
                    near=float(W_NEAR * near[column]),
                    miles=None if miles is None or np.isnan(miles[column]) else float(miles[column]),
                )
            picks.append(Pick(facts.id, float(total[column]), reason_text(parts), parts))
        results[shopper.id] = picks
    return results


def _top(total: np.ndarray, count: int) -> np.ndarray:
    count = min(count, len(total))
    if count <= 0:
        return np.array([], dtype=np.int64)
    part = np.argpartition(-total, count - 1)[:count]
    return part[np.argsort(-total[part], kind="stable")]


def _choose(total: np.ndarray, categories: np.ndarray, limit: int, diversify: bool) -> list[int]:
    """The best `limit` columns, best first; diversified: never more than MAX_PER_CATEGORY from one
    category. Each round takes the best few, then rules out the categories that are full, so a taste
    that fills its own categories costs a few partial sorts, never a full one."""
    if not diversify:
        return [int(c) for c in _top(total, limit) if np.isfinite(total[c])]
    work = total.copy()
    chosen: list[int] = []
    per_category: Counter = Counter()
    while len(chosen) < limit:
        order = _top(work, limit * 4)
        for column in order:
            if not np.isfinite(work[column]):
                break
            category = int(categories[column])
            if per_category[category] >= MAX_PER_CATEGORY:
                continue
            per_category[category] += 1
            chosen.append(int(column))
            if len(chosen) == limit:
                return chosen
        work[order] = -np.inf
        full = [category for category, count in per_category.items() if count >= MAX_PER_CATEGORY]
        work[np.isin(categories, full)] = -np.inf
        if not np.isfinite(work).any():
            break
    return chosen


_KIND_SIGNAL = {"view": "browsing", "watch": "saved", "purchase": "purchases"}


def _as_dict(matrix: sparse.csr_matrix, row: int, tokens_by_column: list[str]) -> dict[str, float]:
    """One row of a CSR matrix as {token: value}, read straight from its arrays."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    columns, values = matrix.indices[start:end].tolist(), matrix.data[start:end].tolist()
    return {tokens_by_column[c]: v for c, v in zip(columns, values, strict=True)}


class _Explainer:
    """Names the parts of one shopper's picks; what it needs of the shopper is worked out once."""

    def __init__(
        self,
        shopper: Shopper,
        now: datetime,
        names: Names,
        similar: TasteSource | None,
        direct: dict[str, float],
        profile: dict[str, float],
        kinds: dict[str, dict[str, float]],
    ):
        self.shopper, self.now, self.names, self.similar = shopper, now, names, similar
        self.direct, self.profile = direct, profile
        # Each kind's mass of each token, to split the direct match between views, watches and purchases.
        self.kinds = kinds
        self.categories: Counter = Counter()
        self.by_kind: dict[str, list[Signal]] = defaultdict(list)
        self._because: Callable[[str], str | None] | None = None
        self._like_this: dict[tuple, tuple] = {}
        for signal in shopper.signals:
            self.by_kind[signal.kind].append(signal)
            if signal.kind in SIGNAL_WEIGHTS:
                self.categories[signal.listing.category_id] += 1

    def parts(
        self,
        facts: Facts,
        *,
        taste_scale: float,
        collab: float,
        penalty: float,
        cold_taste: float | None,
        deal: float,
        fresh: float,
        near: float,
        miles: float | None,
    ) -> tuple[Contribution, ...]:
        """The named parts of one pick's score, largest first (they sum to the score)."""
        names = self.names
        parts: list[Contribution] = []
        if cold_taste is not None:
            category = names.category(facts.category_id)
            parts.append(Contribution("popular", f"Popular in {category} this week", taste_scale * cold_taste))
        else:
            tokens = listing_tokens(facts)
            by_kind: dict[str, float] = defaultdict(float)
            category_part = 0.0
            for token, share in tokens.items():
                value = self.direct.get(token, 0.0) * share * taste_scale
                if value <= 0:
                    continue
                if token[0] in "cp":
                    category_part += value
                    continue
                kinds = {kind: masses[token] for kind, masses in self.kinds.items() if token in masses}
                total_mass = sum(kinds.values()) or 1.0
                for kind, kind_mass in kinds.items():
                    by_kind[kind] += value * kind_mass / total_mass
            for kind, value in by_kind.items():
                key = (kind, facts.category_id, facts.parent_id)
                if key not in self._like_this:
                    self._like_this[key] = _like_this(kind, facts, self.by_kind[kind], names, self.now)
                label = personal_label(kind, facts, (), names, self.now, self._like_this[key])
                parts.append(Contribution(_KIND_SIGNAL[kind], label, value))
            if category_part > 0:
                seen = sum(self.categories.values()) or 1
                share = self.categories[facts.category_id] / seen
                what = names.category(facts.category_id)
                label = f"{share:.0%} of what you look at is {what}" if share else f"You look at things near {what}"
                parts.append(Contribution("category_affinity", label, category_part))
            if collab > 0:
                label = "Shoppers with your taste liked listings like this"
                if self.similar is not None:
                    new = [t for t in tokens if t not in self.profile] or list(tokens)
                    best = max(new, key=tokens.__getitem__)
                    if self._because is None:
                        self._because = self.similar.suggester(self.profile)
                    if source := self._because(best):
                        label = f"Shoppers who like {names.token(source)} also look at {names.token(best)}"
                parts.append(Contribution("similar_users", label, collab * taste_scale))
        if penalty > 0:
            label = "Like something you said you're not interested in"
            parts.append(Contribution("not_interested", label, -penalty * taste_scale))
        parts.append(Contribution("deal", deal_words(facts), deal))
        age = self.now - facts.first_seen_at
        days = age.days
        parts.append(
            Contribution(
                "freshness", "Listed today" if days < 1 else f"Listed {days} day{'s' * (days != 1)} ago", fresh
            )
        )
        if miles is not None:
            parts.append(Contribution("distance", distance_words(miles), near, miles))
        return tuple(sorted(parts, key=lambda c: -c.weight))


# A personal signal this small is not what made the pick; the reason then leads with the deal.
REASON_MIN_WEIGHT = 0.02
OWN_SIGNALS_PREFERRED = 0.5
# A deal score from this up is worth saying in the reason.
GOOD_DEAL = 0.55
# Distance is worth saying when it is a reason to go and look.
REASON_MAX_MILES = 50


def reason_text(parts: Sequence[Contribution]) -> str:
    """The reason in one line: the strongest thing about the user, then the deal and the distance.

    The user's own signals lead unless similar users weigh over twice as much as they do (with the
    category affinity they built): "You viewed 4 gaming laptops this week" is something the user can
    check, and says more than "shoppers who like bikes also look at laptops" to someone who did.
    The deal is mentioned when it is one (a fair or high price is in `signals`, not the reason).
    """
    by_signal = {c.signal: c for c in parts}
    own = [c for c in parts if c.signal in ("browsing", "saved", "purchases")]
    affinity = by_signal.get("category_affinity")
    similar = by_signal.get("similar_users")
    lead = by_signal.get("popular")
    strength = 0.0
    if own:
        best = max(own, key=lambda c: c.weight)
        strength = best.weight + (affinity.weight if affinity else 0.0)
        lead = similar if similar and similar.weight * OWN_SIGNALS_PREFERRED > strength else best
    elif similar or affinity:
        lead = max((c for c in (similar, affinity) if c), key=lambda c: c.weight)
    pieces = []
    if lead is not None:
        weight = strength if lead.signal in ("browsing", "saved", "purchases") else lead.weight
        if weight >= REASON_MIN_WEIGHT:
            pieces.append(lead.label)
    if (deal := by_signal.get("deal")) and deal.weight >= W_DEAL * GOOD_DEAL:
        pieces.append(deal.label)
    if (distance := by_signal.get("distance")) and (distance.miles or 0) <= REASON_MAX_MILES:
        pieces.append(distance.label)
    return " · ".join(pieces)
