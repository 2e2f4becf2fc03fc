"""Writing planned rows fast: COPY on PostgreSQL (batched INSERTs elsewhere), and loading a
table without its indexes and constraints the way pg_restore does."""
from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from django.db import connection
from tqdm import tqdm

class _Db:
    """Writes rows to a model's table: COPY on PostgreSQL, executemany elsewhere. Rows are
    tuples in the order of `fields` (model field names; foreign keys as ids)."""

    def __init__(self, progress: bool):
        self.postgres = connection.vendor == "postgresql"
        self.progress = progress
        self.bar: tqdm | None = None

    def load(self, model, fields: Sequence[str], rows: Iterable[Sequence]) -> int:
        meta = model._meta
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
        written = 0
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        written += 1
                        if written % 10_000 == 0 and self.bar is not None:
                            self.bar.update(10_000)
            else:
                sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
                batch: list[tuple] = []
                for row in rows:
                    batch.append(tuple(_portable(value) for value in row))
                    written += 1
                    if len(batch) == 5_000:
                        cursor.executemany(sql, batch)
                        batch = []
                        if self.bar is not None:
                            self.bar.update(5_000)
                if batch:
                    cursor.executemany(sql, batch)
        if self.bar is not None:
            self.bar.update(written % (10_000 if self.postgres else 5_000))
        return written


@contextmanager
def _bulk_load(*models) -> Iterator[None]:
    """On PostgreSQL, load these tables the way pg_restore does: without their secondary indexes,
    unique and foreign-key constraints, which are put back afterwards (an index built once and a
    foreign key validated by one join are far cheaper than their row-by-row upkeep). The DDL is
    transactional: if anything fails, the constraints come back with the rollback."""
    if connection.vendor != "postgresql":
        yield
        return
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        # Rows written earlier in this transaction (a caller's or a test's) have their deferred
        # foreign-key checks pending, and a table with pending checks cannot be altered: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT conrelid::regclass::text, quote_ident(conname), contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u') ORDER BY contype DESC, conname",
            [tables],
        )
        constraints = cursor.fetchall()  # unique ones first: put back before the foreign keys
        cursor.execute(
            "SELECT quote_ident(i.indexname), i.indexdef FROM pg_indexes i"
            " WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s) AND NOT EXISTS ("
            "   SELECT 1 FROM pg_constraint c"
            "   WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"
            " ORDER BY i.indexname",
            [tables],
        )
        indexes = cursor.fetchall()
        for table, name, _, _ in constraints:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, _, definition in constraints:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


def _portable(value):
    """A value as Django's non-PostgreSQL backends store it."""
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, bool):
        return int(value)
    return value
