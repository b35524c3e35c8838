"""Recommendations: reading signals, ranking a batch of users, the cached lists, and feedback.

`refresh` is what the beat task runs, batch after batch; `recommendations_for` is what the pages and
the API call (the cached list, recomputed first when it is stale); `explain` answers "why this?"
for any active listing; `dismiss` and `mark_bought` take the user's feedback. The decisions are in
`engine` (pure); this module only gathers what they need, in a fixed number of queries per batch.
"""

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from scipy import sparse

from accounts.geo import lookup_zip
from accounts.models import User
from activity.log import Event, Kind, firsts, record, record_many
from activity.machines import machine_click
from listings.models import Category, Listing, ListingView
from notifications.models import Notification
from watchlist.models import WatchlistItem

from . import engine
from .collaborative import TasteModel
from .models import Dismissal, Purchase, Surface, UserRecommendations

BATCH_SIZE = 250
# A cached list older than this is recomputed on request; the beat task keeps most lists younger.
LIST_MAX_AGE = timedelta(hours=6)
# The candidate pool: each category's best deals among the fresh active listings.
POOL_PER_CATEGORY = 150
# The shared parts (pool, similar-users model, popularity) are reused this long within a process.
POOL_TTL_S = 120.0
MODEL_TTL_S = 3600.0
POPULAR_WINDOW = timedelta(days=7)
# A list is recomputed for browsing done since it was made once it is at least this old.
BROWSING_GRACE = timedelta(minutes=5)

_FACT_FIELDS = (
    "id",
    "category_id",
    "category__parent_id",
    "title",
    "price",
    "condition",
    "latitude",
    "longitude",
    "deal_score",
    "deal_score_explanation",
    "first_seen_at",
    "seller",
    "zip_code",
)


def _facts(values: Sequence) -> engine.Facts:
    return engine.Facts(*values)


# --- the shared parts: the vocabulary, the pool, the similar-users model, popularity -----------


class _Similar(engine.TasteSource):
    """`TasteModel` in the vocabulary's token space (tokens met after the fit have no neighbours)."""

    def __init__(self, model: TasteModel, vocabulary: engine.Vocabulary):
        self.model, self.vocabulary = model, vocabulary
        self.size = model.n_tokens
        self.tokens = list(vocabulary.index)[: self.size]

    def expand(self, profiles: sparse.csr_matrix, vocabulary: engine.Vocabulary) -> sparse.csr_matrix:
        scores = self.model.scores(profiles[:, : self.size])
        return engine.widen(sparse.csr_matrix(scores, dtype=np.float32), len(vocabulary))

    def suggester(self, profile: dict[str, float]) -> Callable[[str], str | None]:
        index = self.vocabulary.index
        columns = sorted((index[t], w) for t, w in profile.items() if index[t] < self.size)
        strongest = self.model.explainer([c for c, _ in columns], [w for _, w in columns])

        def because(token: str) -> str | None:
            column = index.get(token)
            source = strongest(column) if column is not None and column < self.size else None
            return None if source is None else self.tokens[source]

        return because


@dataclass
class _Shared:
    vocabulary: engine.Vocabulary
    similar: _Similar | None
    popular: dict[int, float]
    names: engine.Names
    pool: engine.Candidates
    made_at: float
    model_made_at: float


_shared: dict[tuple, _Shared] = {}
_vocabulary = engine.Vocabulary()


def _names() -> engine.Names:
    return engine.Names(dict(Category.objects.values_list("id", "name")))


def _pool(as_of: datetime, live: bool) -> list[engine.Facts]:
    """Each category's best deals among the listings active and fresh at `as_of`."""
    listings = Listing.objects.filter(first_seen_at__gt=as_of - engine.MAX_AGE, first_seen_at__lte=as_of)
    if live:
        listings = listings.filter(is_active=True)
    else:  # as it was then: evaluation replays the past
        listings = listings.filter(Q(deactivated_at__isnull=True) | Q(deactivated_at__gt=as_of))
    ranked = listings.annotate(
        place=Window(
            RowNumber(),
            partition_by=[F("category_id")],
            order_by=[F("deal_score").desc(nulls_last=True), F("first_seen_at").desc()],
        )
    ).filter(place__lte=POOL_PER_CATEGORY)
    return [_facts(row) for row in ranked.values_list(*_FACT_FIELDS)]


def _popular(as_of: datetime) -> dict[int, float]:
    """Each category's share of the week's views, scaled so the most viewed is 1."""
    counts = dict(
        ListingView.objects.filter(viewed_at__gt=as_of - POPULAR_WINDOW, viewed_at__lte=as_of)
        .values_list("listing__category_id")
        .annotate(n=Count("id"))
        .values_list("listing__category_id", "n")
    )
    top = max(counts.values(), default=0)
    return {category: n / top for category, n in counts.items()} if top else {}


def _fit(until: datetime, vocabulary: engine.Vocabulary) -> _Similar | None:
    """The similar-users model, fitted on every user's views, watches and purchases before `until`."""
    since = until - engine.SIGNAL_WINDOW
    pairs: dict[tuple[int, int], float] = defaultdict(float)
    for user_id, listing_id in ListingView.objects.filter(viewed_at__gt=since, viewed_at__lte=until).values_list(
        "user_id", "listing_id"
    ):
        pairs[user_id, listing_id] += engine.SIGNAL_WEIGHTS["view"]
    for model, weight in ((WatchlistItem, "watch"), (Purchase, "purchase")):
        for user_id, listing_id in model.objects.filter(created_at__gt=since, created_at__lte=until).values_list(
            "user_id", "listing_id"
        ):
            pairs[user_id, listing_id] += engine.SIGNAL_WEIGHTS[weight]
    if not pairs:
        return None
    listing_ids = {listing_id for _, listing_id in pairs}
    facts = {}
    ids = sorted(listing_ids)
    for start in range(0, len(ids), 20_000):
        for row in Listing.objects.filter(id__in=ids[start : start + 20_000]).values_list(*_FACT_FIELDS):
            facts[row[0]] = _facts(row)
    users = {user_id: row for row, user_id in enumerate(sorted({u for u, _ in pairs}))}
    rows, cols, values = [], [], []
    for (user_id, listing_id), weight in pairs.items():
        if (fact := facts.get(listing_id)) is None:
            continue
        for token, share in engine.listing_tokens(fact).items():
            rows.append(users[user_id])
            cols.append(vocabulary.add(token))
            values.append(weight * share)
    matrix = sparse.csr_matrix((values, (rows, cols)), shape=(len(users), len(vocabulary)), dtype=np.float32)
    return _Similar(TasteModel.fit(matrix), vocabulary)


def _shared_parts(as_of: datetime, signals_until: datetime, live: bool) -> _Shared:
    """The parts every user of a batch shares, reused for a while within the process."""
    clock = time.monotonic()
    key = ("live",) if live else ("past", as_of, signals_until)
    shared = _shared.get(key)
    if shared is not None and clock - shared.made_at < POOL_TTL_S:
        return shared
    vocabulary = _vocabulary if live else engine.Vocabulary()
    if shared is not None and clock - shared.model_made_at < MODEL_TTL_S:
        similar, model_made_at = shared.similar, shared.model_made_at
    else:
        similar, model_made_at = _fit(signals_until, vocabulary), clock
    pool = _pool(as_of, live)
    if not live:
        _shared.clear()  # one past moment at a time: evaluation walks forward
    shared = _shared[key] = _Shared(
        vocabulary=vocabulary,
        similar=similar,
        popular=_popular(signals_until),
        names=_names(),
        pool=engine.Candidates.build(pool, vocabulary),
        made_at=clock,
        model_made_at=model_made_at,
    )
    return shared


def shared_pool_listings() -> list[engine.Facts]:
    """The candidates this process ranks against now (benchmarks report its size)."""
    shared = _shared.get(("live",))
    return shared.pool.listings if shared else []


def signal_count(user_ids: Sequence[int]) -> int:
    """How many signals these users have (views in the window, watches, purchases, dismissals)."""
    since = timezone.now() - engine.SIGNAL_WINDOW
    return ListingView.objects.filter(user_id__in=user_ids, viewed_at__gt=since).count() + sum(
        model.objects.filter(user_id__in=user_ids).count() for model in (WatchlistItem, Purchase, Dismissal)
    )


def forget_shared_parts() -> None:
    """Drop the process's pool and model (tests; a deploy that changes the engine)."""
    _shared.clear()


# --- one batch ---------------------------------------------------------------------------------


def _shoppers(user_ids: Sequence[int], since: datetime, until: datetime, today_by_user: dict) -> list[engine.Shopper]:
    """The batch's users with their signals and exclusions: one query per kind of signal, one for
    the listings they are about, one for today's notifications."""
    users = list(User.objects.filter(id__in=user_ids).values_list("id", "home_zip", "time_zone"))
    shoppers: dict[int, engine.Shopper] = {}
    for user_id, home_zip, zone in users:
        place = lookup_zip(home_zip) if home_zip else None
        shoppers[user_id] = engine.Shopper(
            user_id, place.latitude if place else None, place.longitude if place else None
        )
        today_by_user[user_id] = until.astimezone(zone).date()
    sources = (
        ("view", ListingView.objects.filter(viewed_at__gt=since, viewed_at__lte=until), "viewed_at"),
        ("watch", WatchlistItem.objects.filter(created_at__lte=until), "created_at"),
        ("purchase", Purchase.objects.filter(created_at__lte=until), "created_at"),
        ("dismissal", Dismissal.objects.filter(created_at__lte=until), "created_at"),
    )
    signals = [
        (kind, user_id, listing_id, when)
        for kind, rows, at in sources
        for user_id, listing_id, when in rows.filter(user_id__in=shoppers).values_list("user_id", "listing_id", at)
    ]
    # Each listing once (shoppers share them), not once per signal; chosen by subqueries rather than
    # by an IN list of thousands of ids, which cost more to build and send than the rows did.
    about = Q()
    for _, rows, _ in sources:
        about |= Q(id__in=rows.filter(user_id__in=shoppers).values("listing_id"))
    facts = {row[0]: _facts(row) for row in Listing.objects.filter(about).values_list(*_FACT_FIELDS)} if signals else {}
    for kind, user_id, listing_id, when in signals:
        if (listing := facts.get(listing_id)) is None:  # its signal was withdrawn between the two reads
            continue
        shopper = shoppers[user_id]
        shopper.signals.append(engine.Signal(kind, listing, when))
        shopper.excluded.add(listing_id)
    days = set(today_by_user.values())
    for user_id, listing_id, day in Notification.objects.filter(user_id__in=shoppers, local_day__in=days).values_list(
        "user_id", "listing_id", "local_day"
    ):
        if today_by_user[user_id] == day:
            shoppers[user_id].excluded.add(listing_id)
    return [shoppers[user_id] for user_id in user_ids if user_id in shoppers]


def _rank(
    user_ids: Sequence[int],
    *,
    as_of: datetime | None = None,
    signals_until: datetime | None = None,
    limit: int = engine.LIMIT,
    diversify: bool = True,
    explain: bool = True,
    extra: engine.Facts | None = None,
    focus: int | None = None,
) -> dict[int, list[engine.Pick]]:
    live = as_of is None
    as_of = as_of or timezone.now()
    signals_until = signals_until or as_of
    shared = _shared_parts(as_of, signals_until, live)
    candidates = shared.pool
    if extra is not None and extra.id not in candidates.column:
        candidates = engine.Candidates.build([*candidates.listings, extra], shared.vocabulary)
    shoppers = _shoppers(user_ids, signals_until - engine.SIGNAL_WINDOW, signals_until, {})
    return engine.rank(
        shoppers,
        candidates,
        shared.vocabulary,
        as_of,
        names=shared.names,
        similar=shared.similar,
        popular=shared.popular,
        limit=limit,
        diversify=diversify,
        explain=explain,
        focus=focus,
    )


def rank_listings(
    user_ids: Sequence[int],
    *,
    as_of: datetime | None = None,
    signals_until: datetime | None = None,
    limit: int = engine.LIMIT,
    diversify: bool = True,
) -> dict[int, list[int]]:
    """Each user's recommended listing ids, best first, as the product would have ranked them at
    `as_of` from the signals before `signals_until` (evaluation replays the past with these)."""
    picks = _rank(user_ids, as_of=as_of, signals_until=signals_until, limit=limit, diversify=diversify, explain=False)
    return {user_id: [p.listing_id for p in user_picks] for user_id, user_picks in picks.items()}


def refresh(user_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Recompute and store the lists of `user_ids`, BATCH_SIZE users at a time; how many were stored."""
    ids = list(user_ids)
    stored = 0
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start : start + BATCH_SIZE]
        stamp = now or timezone.now()
        picks = _rank(batch)
        stored += _store(picks, stamp)
    return stored


def _store(picks: dict[int, list[engine.Pick]], stamp: datetime) -> int:
    """Upsert the lists in one statement. Written by hand: Django's bulk_create sends each column as a
    PostgreSQL array, and escaping every quote of every list's JSON inside an array literal cost more
    than ranking the users did."""
    if not picks:
        return 0
    table = connection.ops.quote_name(UserRecommendations._meta.db_table)
    as_json = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    rows = ", ".join([f"(%s, {as_json}, %s, NULL)"] * len(picks))
    params: list = []
    for user_id, user_picks in picks.items():
        params += [user_id, orjson.dumps([p.as_dict() for p in user_picks]).decode(), stamp]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, items, computed_at, stale_since) VALUES {rows} "
            "ON CONFLICT (user_id) DO UPDATE SET items = excluded.items, computed_at = excluded.computed_at, "
            "stale_since = NULL",
            params,
        )
    return len(picks)


def users_due(limit: int, *, now: datetime | None = None) -> list[int]:
    """Active users whose list is missing, marked stale, or older than a refresh interval."""
    now = now or timezone.now()
    due = (
        User.objects.filter(is_active=True)
        .filter(
            Q(recommendations__isnull=True)
            | Q(recommendations__stale_since__isnull=False)
            | Q(recommendations__computed_at__lt=now - LIST_MAX_AGE / 2)
        )
        .order_by(F("recommendations__computed_at").asc(nulls_first=True), "id")
        .values_list("id", flat=True)
    )
    return list(due[:limit])


def mark_stale(user: User, *, now: datetime | None = None) -> None:
    """A new signal: the user's next read recomputes their list."""
    UserRecommendations.objects.filter(user=user, stale_since__isnull=True).update(stale_since=now or timezone.now())


# --- what the pages and the API show -----------------------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    listing: Listing
    rank: int
    score: float
    reason: str
    signals: list[dict]


def lists_for(user_ids: Sequence[int], *, now: datetime | None = None) -> dict[int, list[Recommendation]]:
    """Each user's list, best first: the cached one, or recomputed first when missing or stale, with
    anything sold, stale or alerted today since left out. A fixed number of queries per batch."""
    now = now or timezone.now()
    ids = list(dict.fromkeys(user_ids))
    cached = {row.user_id: row for row in UserRecommendations.objects.filter(user_id__in=ids)}
    # Browsing since a list was made makes it stale too, once it is a few minutes old: what a user
    # just looked at shows up in their list soon, without recomputing on every page they open.
    browsed = dict(
        ListingView.objects.filter(user_id__in=ids, viewed_at__gt=now - LIST_MAX_AGE)
        .values_list("user_id")
        .annotate(latest=Max("viewed_at"))
        .values_list("user_id", "latest")
    )
    due = [
        user_id
        for user_id in ids
        if (row := cached.get(user_id)) is None
        or row.stale_since is not None
        or row.computed_at < now - LIST_MAX_AGE
        or (user_id in browsed and browsed[user_id] > row.computed_at and row.computed_at < now - BROWSING_GRACE)
    ]
    items = {user_id: row.items for user_id, row in cached.items()}
    if due:
        fresh = _rank(due)
        _store(fresh, now)
        items.update({user_id: [p.as_dict() for p in picks] for user_id, picks in fresh.items()})
    listing_ids = {item["listing_id"] for user_items in items.values() for item in user_items}
    listings = Listing.objects.select_related("category").filter(is_active=True).in_bulk(listing_ids)
    zones = dict(User.objects.filter(id__in=ids).values_list("id", "time_zone"))
    today = {user_id: now.astimezone(zone).date() for user_id, zone in zones.items()}
    alerted = {
        (user_id, listing_id)
        for user_id, listing_id, day in Notification.objects.filter(
            user_id__in=ids, listing_id__in=listings, local_day__in=set(today.values())
        ).values_list("user_id", "listing_id", "local_day")
        if today.get(user_id) == day
    }
    lists: dict[int, list[Recommendation]] = {}
    for user_id in ids:
        shown: list[Recommendation] = []
        for item in items.get(user_id, []):
            listing = listings.get(item["listing_id"])
            if listing is None or listing.first_seen_at <= now - engine.MAX_AGE or (user_id, listing.id) in alerted:
                continue
            shown.append(Recommendation(listing, len(shown) + 1, item["score"], item["reason"], item["signals"]))
        lists[user_id] = shown
    return lists


def _shown(user_id: int, listing_id: int, surface: str, rank: int | None, now: datetime) -> Event:
    return Event(
        kind=Kind.RECOMMENDATION_SHOWN,
        channel=surface,
        user_id=user_id,
        listing_id=listing_id,
        rank=rank,
        created_at=now,
    )


def record_shown(user_id: int, recommendations: Sequence[Recommendation], surface: str, *, now=None) -> None:
    """Impressions, for click-through: one event per card shown (each time it is shown), one query."""
    now = now or timezone.now()
    record_many(_shown(user_id, r.listing.pk, surface, r.rank, now) for r in recommendations)


def record_shown_batch(shown: dict[int, Sequence[tuple[int, int]]], surface: str, *, now=None) -> None:
    """Impressions for a batch of users (the digests sent): {user id: [(listing id, rank)]}, one query."""
    now = now or timezone.now()
    record_many(
        _shown(user_id, listing_id, surface, rank, now)
        for user_id, cards in shown.items()
        for listing_id, rank in cards
    )


def recommendations_for(user: User, *, surface: str = Surface.API, now: datetime | None = None) -> list[Recommendation]:
    """The user's list (see `lists_for`), recorded as shown on `surface`."""
    now = now or timezone.now()
    shown = lists_for([user.id], now=now)[user.id]
    record_shown(user.id, shown, surface, now=now)
    return shown


def _pick(item: dict) -> engine.Pick:
    signals = tuple(engine.Contribution(s["signal"], s["label"], s["weight"]) for s in item["signals"])
    return engine.Pick(item["listing_id"], item["score"], item["reason"], signals)


@dataclass(frozen=True)
class Explanation:
    reason: str
    signals: list[dict]


def explain(user: User, listing: Listing) -> Explanation:
    """Why `listing` would be (or is) recommended to `user`, part by part, for any active listing."""
    cached = UserRecommendations.objects.filter(user=user).values_list("items", flat=True).first() or []
    for item in cached:
        if item["listing_id"] == listing.id:
            return Explanation(item["reason"], item["signals"])
    values = Listing.objects.filter(pk=listing.pk).values_list(*_FACT_FIELDS).get()
    picks = _rank([user.id], extra=_facts(values), focus=listing.id).get(user.id, [])
    if not picks:
        return Explanation("", [])
    return Explanation(picks[0].reason, [c.as_dict() for c in picks[0].signals])


# --- feedback ----------------------------------------------------------------------------------


def dismiss(user: User, listing: Listing, *, now: datetime | None = None) -> Dismissal:
    """ "Not interested": never show it again, and weigh what resembles it less."""
    now = now or timezone.now()
    with transaction.atomic():
        dismissal, _ = Dismissal.objects.get_or_create(user=user, listing=listing, defaults={"created_at": now})
        mark_stale(user, now=now)
    return dismissal


def is_dismissed(user: User, listing_id: int) -> bool:
    return Dismissal.objects.filter(user=user, listing_id=listing_id).exists()


def undo_dismissal(user: User, listing_id: int, *, now: datetime | None = None) -> bool:
    with transaction.atomic():
        deleted, _ = Dismissal.objects.filter(user=user, listing_id=listing_id).delete()
        if deleted:
            mark_stale(user, now=now)
    return bool(deleted)


def mark_bought(user: User, listing: Listing, *, now: datetime | None = None) -> tuple[Purchase, bool]:
    """ "I bought this": (purchase, created)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            purchase, created = Purchase.objects.get_or_create(user=user, listing=listing, defaults={"created_at": now})
            if created:
                mark_stale(user, now=now)
    except IntegrityError:  # the same mark from two requests at once
        return Purchase.objects.get(user=user, listing=listing), False
    return purchase, created


def unmark_bought(user: User, listing_id: int, *, now: datetime | None = None) -> bool:
    with transaction.atomic():
        deleted, _ = Purchase.objects.filter(user=user, listing_id=listing_id).delete()
        if deleted:
            mark_stale(user, now=now)
    return bool(deleted)


@dataclass(frozen=True)
class ClickSource:
    """Who followed a tracked link, as the request tells it: to tell link scanners from people."""

    user_agent: str
    ip: str
    method: str = "GET"


def record_click(
    user_id: int,
    listing_id: int,
    surface: str,
    rank: int | None,
    source: ClickSource,
    *,
    now: datetime | None = None,
) -> Event:
    """Log a click on a recommended listing; two queries (what came before, then the row).

    `ref_id` is the listing, shared by everyone it was recommended to: click-through counts a card
    once per user, so `repeat` and `first_human` are judged among this user's clicks on it from
    this surface.
    """
    machine = machine_click(source.user_agent, source.ip, None, source.method)
    return record(
        Kind.RECOMMENDATION_CLICKED,
        now=now,
        channel=surface,
        user_id=user_id,
        listing_id=listing_id,
        ref_id=listing_id,
        rank=rank,
        machine=machine,
        **firsts(Kind.RECOMMENDATION_CLICKED, listing_id, surface, machine=machine, user_id=user_id),
        user_agent=source.user_agent[:300],
    )
