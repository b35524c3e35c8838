"""Ingestion: the one path every connector (API, CLI import, demo feed) takes.

`ingest_listings` upserts a validated batch by (source, external_id) with a number
of queries that does not grow with the batch, records price history on change,
scores listings the source did not score, and after commit hands new and re-priced
ids to Celery. On PostgreSQL new listings are COPYed straight into the table and
stored ones updated from a temporary table; should a concurrent writer insert or
delete one of them in between, the batch is taken again through COPY into a
temporary table and one INSERT ... ON CONFLICT. Elsewhere it goes through Django's
bulk_create.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.errors import UniqueViolation

from .models import Listing, PricePoint, Source
from .scoring import load_benchmarks, pick_benchmark, score_price
from .tasks import announce_listing_changes
from .text import key_words, listing_words
from .validation import ListingInput


@dataclass
class IngestResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    repriced: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        kinds = ("created", "updated", "repriced", "unchanged")
        return {
            **{kind: len(getattr(self, kind)) for kind in kinds},
            "ids": {kind: getattr(self, kind) for kind in kinds},
        }

    def add(self, other: "IngestResult") -> None:
        for kind in ("created", "updated", "repriced", "unchanged"):
            getattr(self, kind).extend(getattr(other, kind))


# Fields whose change makes an existing listing "updated" (price has its own kind).
_COMPARED = (
    "url",
    "title",
    "description",
    "currency",
    "category_id",
    "condition",
    "zip_code",
    "image_url",
    "seller",
    "posted_at",
    "is_active",
)
_EXISTING_FIELDS = (
    "id",
    "source",
    "external_id",
    "price",
    "deal_score",
    "deal_score_explanation",
    "deal_score_is_computed",
    "deactivated_at",
    *_COMPARED,
)
# Columns written for each listing, in order; all but the key and first_seen_at are updated on conflict.
COLUMNS = (
    "source",
    "external_id",
    "url",
    "title",
    "description",
    "search_words",
    "price",
    "currency",
    "category_id",
    "condition",
    "zip_code",
    "latitude",
    "longitude",
    "image_url",
    "seller",
    "posted_at",
    "first_seen_at",
    "last_seen_at",
    "is_active",
    "deactivated_at",
    "deal_score",
    "deal_score_explanation",
    "deal_score_is_computed",
)
_UPDATED = [c for c in COLUMNS if c not in ("source", "external_id", "first_seen_at")]
_UPDATED_INDEXES = [COLUMNS.index(c) for c in _UPDATED]
_PRICE = COLUMNS.index("price")


Key = tuple[str, str]


def _look_up(items: list[ListingInput]) -> tuple[dict[Key, dict], dict[Key, int]]:
    """In one query: the batch's stored listings by key, and on PostgreSQL, for each key not
    stored yet, an id reserved from the table's sequence (so new rows can be COPYed in)."""
    if connection.vendor == "postgresql":
        table = Listing._meta.db_table
        # One array parameter per key column instead of 1,000 bound values Django resolves one by one.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(f'listing.{name}' for name in _EXISTING_FIELDS)}, batch.source, batch.external_id, "
                "CASE WHEN listing.id IS NULL THEN nextval(id_sequence) END "
                "FROM unnest(%s::text[], %s::text[]) AS batch (source, external_id) "
                f"CROSS JOIN CAST(pg_get_serial_sequence('{table}', 'id') AS regclass) AS id_sequence "
                f"LEFT JOIN {table} AS listing "
                "ON listing.source = batch.source AND listing.external_id = batch.external_id",
                [[i.source for i in items], [i.external_id for i in items]],
            )
            existing, new_ids = {}, {}
            for *stored, source, external_id, new_id in cursor.fetchall():
                if new_id is None:
                    existing[(source, external_id)] = dict(zip(_EXISTING_FIELDS, stored, strict=True))
                else:
                    new_ids[(source, external_id)] = new_id
            return existing, new_ids
    by_source: dict[str, list[str]] = {}
    for item in items:
        by_source.setdefault(item.source, []).append(item.external_id)
    condition = Q()
    for source, external_ids in by_source.items():
        condition |= Q(source=source, external_id__in=external_ids)
    rows = Listing.objects.filter(condition).values(*_EXISTING_FIELDS)
    return {(row["source"], row["external_id"]): row for row in rows}, {}


def ingest_listings(items: list[ListingInput], *, now: datetime | None = None, announce: bool = True) -> IngestResult:
    """Upsert a validated batch (≤ MAX_BATCH, unique keys) in one transaction (≤ 11 queries on PostgreSQL)."""
    if not items:
        return IngestResult()
    now = now or timezone.now()
    if connection.vendor != "postgresql":
        return _ingest(items, now, announce, _write_orm)
    try:
        return _ingest(items, now, announce, _write_postgresql)
    except ConcurrentWrite:
        # Rolled back, so nothing of the first try remains: look again, and write through the
        # upsert, which no concurrent insert or delete can fail.
        return _ingest(items, now, announce, _upsert_postgresql)


class ConcurrentWrite(Exception):
    """Another writer inserted or deleted one of the batch's listings after we looked them up."""


def _ingest(items: list[ListingInput], now: datetime, announce: bool, write: Callable) -> IngestResult:
    result = IngestResult()
    with transaction.atomic():
        existing, new_ids = _look_up(items)
        title_words = {i.title: key_words(i.title) for i in items if i.deal_score is None}
        benchmarks = (
            load_benchmarks({i.category_id for i in items if i.deal_score is None}, set().union(*title_words.values()))
            if title_words
            else {}
        )

        rows, ids, kinds, deactivated = [], [], [], []
        for item in items:
            old = existing.get((item.source, item.external_id))
            if old is not None and old["is_active"] and not item.is_active:
                deactivated.append(old["id"])
            if old is None:
                kind = "created"
            elif old["price"] != item.price:
                kind = "repriced"
            elif any(old[name] != getattr(item, name) for name in _COMPARED):
                kind = "updated"
            else:
                kind = "unchanged"

            if item.deal_score is not None:
                score, why, computed = item.deal_score, f"Score given by {Source(item.source).label}.", False
            elif old is not None and kind == "unchanged" and old["deal_score_is_computed"]:
                score, why, computed = old["deal_score"], old["deal_score_explanation"], True
            else:
                benchmark = pick_benchmark(item.category_id, title_words[item.title], benchmarks)
                score, why = score_price(item.price, benchmark)
                computed = True

            deactivated_at = None if item.is_active else ((old or {}).get("deactivated_at") or now)
            rows.append(
                (
                    item.source,
                    item.external_id,
                    item.url,
                    item.title,
                    item.description,
                    listing_words(item.title, item.description),
                    item.price,
                    item.currency,
                    item.category_id,
                    item.condition,
                    item.zip_code,
                    item.latitude,
                    item.longitude,
                    item.image_url,
                    item.seller,
                    item.posted_at,
                    now,
                    now,
                    item.is_active,
                    deactivated_at,
                    score,
                    why,
                    computed,
                )
            )
            ids.append(new_ids.get((item.source, item.external_id)) if old is None else old["id"])
            kinds.append(kind)

        ids = write(rows, ids, kinds, now)
        for pk, kind in zip(ids, kinds, strict=True):
            getattr(result, kind).append(pk)

        if announce and (result.created or result.repriced or deactivated):
            created, repriced = list(result.created), list(result.repriced)
            transaction.on_commit(lambda: announce_listing_changes.delay(created, repriced, deactivated))
    return result


def _write_orm(rows: list[tuple], ids: list[int | None], kinds: list[str], now: datetime) -> list[int]:
    """Portable writer: bulk_create with ON CONFLICT DO UPDATE (SQLite, and any backend Django supports)."""
    listings = [Listing(**dict(zip(COLUMNS, row, strict=True))) for row in rows]
    Listing.objects.bulk_create(
        listings, update_conflicts=True, unique_fields=["source", "external_id"], update_fields=_UPDATED
    )
    PricePoint.objects.bulk_create(
        PricePoint(listing_id=listing.pk, price=listing.price, recorded_at=now)
        for listing, kind in zip(listings, kinds, strict=True)
        if kind in ("created", "repriced")
    )
    return [listing.pk for listing in listings]


def _write_postgresql(rows: list[tuple], ids: list[int], kinds: list[str], now: datetime) -> list[int]:
    """COPY new listings, with their reserved ids, straight into the table; UPDATE the stored ones.

    About twice as fast as `_upsert_postgresql` for new listings, but it trusts the look-up:
    when another writer has since inserted one of the new keys (the COPY meets the unique
    constraint) or deleted one of the stored rows (the UPDATE misses it), it raises ConcurrentWrite.
    Statements for a part of the batch that is empty are skipped.
    """
    new = [(pk, *row) for pk, row, kind in zip(ids, rows, kinds, strict=True) if kind == "created"]
    old = [
        (pk, *(row[i] for i in _UPDATED_INDEXES))
        for pk, row, kind in zip(ids, rows, kinds, strict=True)
        if kind != "created"
    ]
    with connection.cursor() as cursor:
        cursor.execute(_SYNCHRONOUS_COMMIT_OFF)
        if new:
            try:
                _copy(cursor, Listing, ("id", *COLUMNS), new)
            except UniqueViolation as error:
                raise ConcurrentWrite(str(error)) from error
        if old:
            updates = ", ".join(f"{c} = batch.{c}" for c in _UPDATED)
            cursor.execute(
                f"CREATE TEMP TABLE listing_changes ON COMMIT DROP AS "
                f"SELECT id, {', '.join(_UPDATED)} FROM {Listing._meta.db_table} WITH NO DATA"
            )
            _copy(cursor, Listing, ("id", *_UPDATED), old, table="listing_changes")
            cursor.execute(
                f"UPDATE {Listing._meta.db_table} AS listing SET {updates} "
                "FROM listing_changes AS batch WHERE listing.id = batch.id"
            )
            if cursor.rowcount != len(old):
                raise ConcurrentWrite(f"{len(old) - cursor.rowcount} listing(s) deleted meanwhile")
            cursor.execute("DROP TABLE listing_changes")  # ingestion may run twice in one transaction
        _copy_history(cursor, ids, rows, kinds, now)
    return ids


def _upsert_postgresql(rows: list[tuple], ids: list[int], kinds: list[str], now: datetime) -> list[int]:
    """COPY the batch into a temporary table, then one INSERT ... ON CONFLICT: safe against concurrent writers."""
    table = Listing._meta.db_table
    columns = ", ".join(COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED)
    with connection.cursor() as cursor:
        cursor.execute(_SYNCHRONOUS_COMMIT_OFF)
        cursor.execute(f"CREATE TEMP TABLE listing_batch ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA")
        _copy(cursor, Listing, COLUMNS, rows, table="listing_batch")
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM listing_batch "
            f"ON CONFLICT (source, external_id) DO UPDATE SET {updates} "
            f"RETURNING id, source, external_id"
        )
        ids_by_key = {(source, external_id): pk for pk, source, external_id in cursor.fetchall()}
        cursor.execute("DROP TABLE listing_batch")
        ids = [ids_by_key[(row[0], row[1])] for row in rows]
        _copy_history(cursor, ids, rows, kinds, now)
    return ids


# Connectors re-send listings on their next poll, so a crash losing the last fraction of a
# second of commits costs little, while waiting for the WAL flush costs ~30% of a batch.
_SYNCHRONOUS_COMMIT_OFF = "SET LOCAL synchronous_commit TO OFF"


def _copy_history(cursor, ids: list[int], rows: list[tuple], kinds: list[str], now: datetime) -> None:
    """A price point for each new or re-priced listing."""
    history = [
        (pk, row[_PRICE], now)
        for pk, row, kind in zip(ids, rows, kinds, strict=True)
        if kind in ("created", "repriced")
    ]
    if history:
        _copy(cursor, PricePoint, ("listing_id", "price", "recorded_at"), history)


def _copy(cursor, model, columns: tuple[str, ...], rows: list[tuple], *, table: str = "") -> None:
    """Binary COPY of rows into the model's table (or a table shaped like it).

    Binary: psycopg formats the rows in C, in a third of the time text takes, and PostgreSQL
    parses no numbers or dates. Logged like any query, so query-count tests and benchmarks see it.
    """
    sql = f"COPY {table or model._meta.db_table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    started = time.monotonic()
    with cursor.cursor.copy(sql) as copy:
        copy.set_types(_column_types(model, columns))
        for row in rows:
            copy.write_row(row)
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
        )


@cache
def _column_types(model, columns: tuple[str, ...]) -> list[str]:
    """Each column's type as psycopg names it for a binary COPY: "varchar", not "varchar(200)"."""
    fields = {f.column: f for f in model._meta.concrete_fields}
    return [re.sub(r"\(.*\)", "", fields[column].cast_db_type(connection)) for column in columns]
