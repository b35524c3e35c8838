"""Database helpers the ORM lacks."""

from datetime import datetime
from decimal import Decimal

from django.db import connection, models


def insert_ignoring_conflicts(
    model: type[models.Model], rows: list[dict], *, unique: tuple[str, ...], returning: tuple[str, ...] = ("id",)
) -> list[tuple]:
    """INSERT … ON CONFLICT (unique) DO NOTHING RETURNING: exactly the rows this call created, in one statement.

    `bulk_create(ignore_conflicts=True)` cannot say which rows were new; this can, which is what makes
    "recorded once, announced once" hold when two workers insert the same rows at the same time.
    PostgreSQL and SQLite (3.35+) both support it.
    """
    if not rows:
        return []
    opts, quote = model._meta, connection.ops.quote_name
    # The given columns, and the model defaults of the others the database has no default for.
    given = {key for row in rows[:1] for key in row}
    fields = [
        f
        for f in opts.concrete_fields
        if not f.primary_key
        and (f.name in given or f.attname in given or (not f.has_db_default() and not (f.null and f.default is None)))
    ]
    missing = object()

    def value(row: dict, field: models.Field):
        found = row.get(field.attname, row.get(field.name, missing))
        return field.get_default() if found is missing else found

    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    params = [f.get_db_prep_save(value(row, f), connection) for row in rows for f in fields]
    conflict = ", ".join(quote(opts.get_field(name).column) for name in unique)
    returned = ", ".join(quote(opts.get_field(name).column) for name in returning)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES {placeholders} "
            f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {returned}",
            params,
        )
        return cursor.fetchall()


def update_rows(
    model: type[models.Model], rows: list[dict], fields: tuple[str, ...], *, only_where: dict | None = None
) -> int:
    """Set `fields` of many rows (each dict has "id" and the fields) in one UPDATE … FROM (VALUES …).

    `only_where`: {field: value} the rows must still have, e.g. a status that says they are ours.

    `bulk_update` writes a CASE per field with a branch per row: quadratic work in the database and
    slow to build in Python. Joining a VALUES list is linear. PostgreSQL and SQLite (3.33+).
    """
    if not rows:
        return 0
    opts, quote = model._meta, connection.ops.quote_name
    columns = [opts.get_field(name) for name in fields]
    names = ["id", *(f.column for f in columns)]
    if connection.vendor == "postgresql" and not any(f.get_internal_type() in _NOT_IN_ARRAYS for f in columns):
        return _update_rows_from_arrays(model, rows, columns, only_where or {})
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(names)) + ")"] * len(rows))
    params = [
        value for row in rows for value in (row["id"], *(f.get_db_prep_save(row[f.name], connection) for f in columns))
    ]
    postgres = connection.vendor == "postgresql"

    def typed(field: models.Field) -> str:
        # VALUES parameters arrive untyped in PostgreSQL; SQLite must not cast (it would change affinity).
        ref = f"v.{quote(field.column)}"
        return f"CAST({ref} AS {field.db_type(connection)})" if postgres else ref

    table = quote(opts.db_table)
    assignments = ", ".join(f"{quote(f.column)} = {typed(f)}" for f in columns)
    id_ref = "CAST(v.id AS bigint)" if postgres else "v.id"
    conditions = [f"{table}.{quote(opts.pk.column)} = {id_ref}", *_still(opts, only_where or {}, params)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v ({', '.join(quote(n) for n in names)}) AS (VALUES {placeholders}) "
            f"UPDATE {table} SET {assignments} FROM v WHERE {' AND '.join(conditions)}",
            params,
        )
        return cursor.rowcount


def _still(opts, only_where: dict, params: list) -> list[str]:
    """`only_where`'s conditions ("the row still has this status"); their values go onto `params`."""
    conditions = []
    for name, value in only_where.items():
        field = opts.get_field(name)
        conditions.append(f"{quote_name(opts.db_table)}.{quote_name(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    return conditions


def quote_name(name: str) -> str:
    return connection.ops.quote_name(name)


# Types whose adapted values psycopg cannot put in a typed array parameter (they arrive as text).
_NOT_IN_ARRAYS = {"JSONField", "ArrayField", "HStoreField"}
# Fields whose values psycopg sends as they are when they already have the column's Python type.
_AS_THEY_ARE = {
    "BigIntegerField": (int,),
    "BooleanField": (bool,),
    "DecimalField": (Decimal,),
    "IntegerField": (int,),
    "PositiveIntegerField": (int,),
    "DateTimeField": (datetime,),
}


def _column(field: models.Field, values: list) -> list:
    """A column's values for the database: as they are when that is what the field would send.

    Django's per-value preparation (type coercion, time zone checks) was a third of the time of
    updating a few thousand rows; values of the column's own type (aware datetimes) need none.
    """
    types = _AS_THEY_ARE.get(field.get_internal_type())
    if types and all(
        v is None or (type(v) in types and (type(v) is not datetime or v.tzinfo is not None)) for v in values
    ):
        return values
    return [field.get_db_prep_save(v, connection) for v in values]


def _update_rows_from_arrays(model: type[models.Model], rows: list[dict], columns: list, only_where: dict) -> int:
    """PostgreSQL: the same UPDATE joining `unnest` of one array per column, so a statement has a
    handful of parameters however many rows it sets. Thousands of rows in a VALUES list mean tens of
    thousands of parameters, each formatted and spliced into the SQL on the client: that was most of
    the time of updating a few thousand rows."""
    opts, quote = model._meta, connection.ops.quote_name
    table = quote(opts.db_table)
    names = ["id", *(quote(f.column) for f in columns)]
    casts = ["CAST(%s AS bigint[])", *(f"CAST(%s AS {f.db_type(connection)}[])" for f in columns)]
    params: list = [[row["id"] for row in rows]]
    params += [_column(f, [row[f.name] for row in rows]) for f in columns]
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    conditions = [f"{table}.{quote(opts.pk.column)} = v.id", *_still(opts, only_where, params)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM unnest({', '.join(casts)}) AS v ({', '.join(names)}) "
            f"WHERE {' AND '.join(conditions)}",
            params,
        )
        return cursor.rowcount
