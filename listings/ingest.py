"""Ingestion: the one path every connector (API, CLI import, demo feed) takes.

`ingest_listings` upserts a validated batch by (source, external_id) with a fixed
number of queries, records price history on change, scores listings the source
did not score, and after commit hands new and re-priced ids to Celery. On
PostgreSQL the batch goes through COPY into a temporary table and one
INSERT ... ON CONFLICT; elsewhere through Django's bulk_create.
"""

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import Listing, PricePoint, Source
from .scoring import load_benchmarks, pick_benchmark, score_price
from .tasks import announce_listing_changes
from .text import key_words
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
_PRICE = COLUMNS.index("price")


def _existing(items: list[ListingInput]) -> dict[tuple[str, str], dict]:
    """The stored listings of a batch, by key, in one query."""
    if connection.vendor == "postgresql":
        # One array parameter per column instead of 1,000 bound values Django resolves one by one.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(_EXISTING_FIELDS)} FROM {Listing._meta.db_table} "
                "WHERE (source, external_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
                [[i.source for i in items], [i.external_id for i in items]],
            )
            return {(row[1], row[2]): dict(zip(_EXISTING_FIELDS, row, strict=True)) for row in cursor.fetchall()}
    by_source: dict[str, list[str]] = {}
    for item in items:
        by_source.setdefault(item.source, []).append(item.external_id)
    condition = Q()
    for source, external_ids in by_source.items():
        condition |= Q(source=source, external_id__in=external_ids)
    rows = Listing.objects.filter(condition).values(*_EXISTING_FIELDS)
    return {(row["source"], row["external_id"]): row for row in rows}


def ingest_listings(items: list[ListingInput], *, now: datetime | None = None, announce: bool = True) -> IngestResult:
    """Upsert a validated batch (≤ MAX_BATCH, unique keys) in one transaction, a fixed number of queries."""
    result = IngestResult()
    if not items:
        return result
    now = now or timezone.now()
    with transaction.atomic():
        existing = _existing(items)
        title_words = {i.title: key_words(i.title) for i in items if i.deal_score is None}
        benchmarks = (
            load_benchmarks({i.category_id for i in items if i.deal_score is None}, set().union(*title_words.values()))
            if title_words
            else {}
        )

        rows, kinds = [], []
        for item in items:
            old = existing.get((item.source, item.external_id))
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
            kinds.append(kind)

        write = _write_postgresql if connection.vendor == "postgresql" else _write_orm
        ids = write(rows, kinds, now)
        for pk, kind in zip(ids, kinds, strict=True):
            getattr(result, kind).append(pk)

        if announce and (result.created or result.repriced):
            created, repriced = list(result.created), list(result.repriced)
            transaction.on_commit(lambda: announce_listing_changes.delay(created, repriced))
    return result


def _write_orm(rows: list[tuple], kinds: list[str], now: datetime) -> list[int]:
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


def _write_postgresql(rows: list[tuple], kinds: list[str], now: datetime) -> list[int]:
    """COPY the batch into a temporary table, then one INSERT ... ON CONFLICT; ~10x bulk_create's speed."""
    table = Listing._meta.db_table
    columns = ", ".join(COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED)
    with connection.cursor() as cursor:
        # Connectors re-send listings on their next poll, so a crash losing the last fraction of a
        # second of commits costs little, while waiting for the WAL flush costs ~30% of a batch.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
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
        history = [
            (pk, row[_PRICE], now)
            for pk, row, kind in zip(ids, rows, kinds, strict=True)
            if kind in ("created", "repriced")
        ]
        if history:
            _copy(cursor, PricePoint, ("listing_id", "price", "recorded_at"), history)
    return ids


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
