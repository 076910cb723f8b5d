"""Plain multi-row INSERT and counter upserts for the group-commit writers, as statements.

``QuerySet.bulk_create`` compiles a query and asks for the new ids back; for a few rows that is several
times the cost of the statement itself (~0.3 ms of Python per call against ~30 µs for the round trip).
The writers need neither, so they build one parameterised statement per batch (``Statement``), which
``cockpit.groupcommit`` runs (on PostgreSQL: all of a batch's statements as one, see ``combine``).
Values still go through each field's ``get_db_prep_save``, exactly as the ORM would store them. Works on
PostgreSQL and SQLite (``ON CONFLICT ... DO UPDATE`` needs SQLite ≥ 3.24).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.options import Options


class Statement(NamedTuple):
    """One data-modifying SQL statement and its parameters (``%s`` placeholders)."""

    sql: str
    params: list[Any]


def execute(statements: Sequence[Statement], using: BaseDatabaseWrapper | None = None) -> None:
    """Run the statements in order on ``using`` (default: this thread's connection)."""
    with (using or connection).cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.sql, statement.params)


def combine(statements: Sequence[Statement]) -> Statement:
    """PostgreSQL: several data-modifying statements as one (all but the last in a WITH clause), so a
    batch is one round trip and, in autocommit, one implicit transaction without BEGIN and COMMIT."""
    if len(statements) == 1:
        return statements[0]
    head = ", ".join(f"w{n} AS ({s.sql})" for n, s in enumerate(statements[:-1]))
    return Statement(f"WITH {head} {statements[-1].sql}", [p for s in statements for p in s.params])


def _columns(model: type[Model]) -> list[Field[Any, Any]]:
    """Concrete columns except an auto-increment primary key (the database assigns it)."""
    fields = []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.get_internal_type() in {"AutoField", "BigAutoField", "SmallAutoField"}:
            continue
        fields.append(field)
    return fields


def _column(field: Field[Any, Any]) -> str:
    """A concrete field's column (``Field.column`` is None only for fields without one, e.g. many-to-many)."""
    assert field.column is not None, f"{field} has no column"
    return field.column


def _field(meta: Options[Any], name: str) -> Field[Any, Any]:
    """The concrete field ``name`` (``get_field`` can also answer reverse relations, never wanted here)."""
    field = meta.get_field(name)
    assert isinstance(field, Field), f"{name} is not a concrete field of {meta.label}"
    return field


def insert_many(model: type[Model], objects: Sequence[Model]) -> Statement:
    """INSERT every object in one statement (no ids read back, no signals: rows for append-only logs)."""
    fields = _columns(model)
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Identifiers come from model metadata, quoted by the backend; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(_column(f)) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * len(objects))}"
    )
    params: list[Any] = []
    for obj in objects:
        for field in fields:
            params.append(field.get_db_prep_save(field.pre_save(obj, add=True), connection))
    return Statement(sql, params)


def add_to_counters(
    model: type[Model], *, keys: Sequence[str], counters: Sequence[str], rows: Sequence[dict[str, Any]]
) -> Statement:
    """Upsert counter rows: insert ``rows`` or add their counters to the existing row with the same
    ``keys`` (a unique constraint over those columns must exist). ``rows`` carry every column named in
    ``keys`` and ``counters`` plus any other required column; callers order them (lock order)."""
    meta = model._meta
    names = list(rows[0])
    fields = [_field(meta, name) for name in names]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = [quote(_column(f)) for f in fields]
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    key_columns = ", ".join(quote(_column(_field(meta, k))) for k in keys)
    updates = ", ".join(
        f"{c} = {table}.{c} + excluded.{c}" for c in (quote(_column(_field(meta, name))) for name in counters)
    )
    sql = (  # identifiers from model metadata, quoted; values are parameters
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * len(rows))} "  # noqa: S608
        f"ON CONFLICT ({key_columns}) DO UPDATE SET {updates}"
    )
    params = [
        field.get_db_prep_save(values[name], connection)
        for values in rows
        for name, field in zip(names, fields, strict=True)
    ]
    return Statement(sql, params)
