"""Reading listings from JSON Lines or CSV files into the ingestion service, in batches."""

import contextlib
import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .ingest import IngestResult, ingest_listings
from .validation import MAX_BATCH, ListingInput, category_ids_by_slug, parse_listing


@dataclass
class ImportReport:
    lines: int = 0
    bad: list[tuple[int, dict[str, list[str]]]] = field(default_factory=list)
    result: IngestResult = field(default_factory=IngestResult)


def _csv_row(row: dict[str, str]) -> dict[str, Any]:
    """CSV gives strings: empty means absent, and two fields need their JSON types back."""
    raw: dict[str, Any] = {k: v for k, v in row.items() if k is not None and v not in ("", None)}
    if "deal_score" in raw:
        with contextlib.suppress(ValueError):  # parse_listing reports it
            raw["deal_score"] = float(raw["deal_score"])
    if "is_active" in raw:
        raw["is_active"] = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
            raw["is_active"].strip().lower(), raw["is_active"]
        )
    return raw


def read_rows(path: Path, fmt: str | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, raw item) pairs; a line that is not valid JSON yields its error message."""
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    with path.open(newline="", encoding="utf-8") as handle:
        if fmt == "csv":
            reader = csv.DictReader(handle)
            for row in reader:
                yield reader.line_num, _csv_row(row)
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                # orjson: decoding is a tenth of the import's time with the standard library, a
                # quarter of that with orjson. Its error is a json.JSONDecodeError (msg, colno).
                yield number, orjson.loads(line)
            except json.JSONDecodeError as error:
                yield number, ValueError(f"Not valid JSON: {error.msg} at column {error.colno}.")


def import_rows(
    rows: Iterator[tuple[int, Any]], *, batch_size: int = MAX_BATCH, progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Validate each row, ingest valid ones in batches; bad rows are reported by line number."""
    report = ImportReport()
    category_ids = category_ids_by_slug()
    batch: dict[tuple[str, str], ListingInput] = {}

    def flush() -> None:
        if batch:
            report.result.add(ingest_listings(list(batch.values())))
            if progress:
                progress(len(batch))
            batch.clear()

    for number, raw in rows:
        report.lines += 1
        if isinstance(raw, ValueError):
            report.bad.append((number, {"line": [str(raw)]}))
            continue
        item, errors = parse_listing(raw, category_ids)
        if errors:
            report.bad.append((number, errors))
            continue
        key = (item.source, item.external_id)
        if key in batch:  # a later line for the same listing wins, in its own batch
            flush()
        batch[key] = item
        if len(batch) >= batch_size:
            flush()
    flush()
    return report
