"""``python -m bot migrate --to postgresql://…``: the bot's SQLite database, copied into an empty PostgreSQL one.

Every table is copied whole (tasks, holds, adjustments, prices, quota policy, guild and member
settings, the small facts in ``meta``), in one PostgreSQL transaction: the target ends up with all
of it or none of it. Both schemas must be at the same version (the bot's newest), so the tables
and columns match one for one; each value is converted by its PostgreSQL column's type (ISO text
to TIMESTAMPTZ, decimal text to NUMERIC, 0/1 to BOOLEAN, JSON text to JSONB), so a column added
by a later migration needs nothing here. Identity sequences are moved past the copied ids (and
past SQLite's own AUTOINCREMENT counter), so new ids never reuse old ones. Before committing,
the copy is verified: every table's row count and every money column's total must be equal on
both sides, exactly. A target holding any row is refused: this moves history, it never merges it.

The source is read in one read transaction (a consistent snapshot); stop the bot first, or the
jobs it records meanwhile stay behind.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from bot.clock import from_iso
from bot.logs import redact_url
from bot.storage.sqlite import bundled_migrations as sqlite_migrations

from .database import PostgresDatabase, connect_pool
from .migrations import bundled_migrations

log = logging.getLogger(__name__)

BATCH = 5_000
"""Rows read and sent per round trip."""
FIRST = ("tasks",)
"""Tables others refer to, copied before them."""
_SKIP = frozenset({"schema_migrations"})


class CopyRefused(RuntimeError):
    """The copy was not made (nothing was written); the message says why, without the password."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    """One table's rows and money totals, as counted on both sides."""

    name: str
    rows: int
    copied: int
    money: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    """Column -> (SQLite total, PostgreSQL total)."""

    @property
    def verified(self) -> bool:
        """Whether the rows and every money total match."""
        return self.rows == self.copied and all(a == b for a, b in self.money.values())


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What was copied where, and whether it checked out."""

    source: str
    target: str
    schema: int
    tables: tuple[TableCopy, ...]

    @property
    def verified(self) -> bool:
        """Whether every table checked out."""
        return all(t.verified for t in self.tables)


def render(report: CopyReport) -> str:
    """The plain summary the operator reads."""
    width = max(len(t.name) for t in report.tables)
    lines = [f"copied {report.source} (schema {report.schema}) into {report.target}"]
    for table in report.tables:
        mark = "ok" if table.verified else "MISMATCH"
        line = f"  {table.name:<{width}}  {table.copied:>9,} of {table.rows:,} rows  {mark}"
        for column, (source, target) in sorted(table.money.items()):
            shown = f"{target}" if source == target else f"{source} in SQLite, {target} here"
            line += f"; {column} {shown}"
        lines.append(line)
    if report.verified:
        lines.append("verified: every table's rows and money totals are equal in both databases.")
    else:
        lines.append("NOT verified: the copy was rolled back; the PostgreSQL database is left empty.")
    return "\n".join(lines)


def _converter(data_type: str) -> Callable[[Any], Any]:
    """How a SQLite value becomes the value a PostgreSQL column of ``data_type`` takes."""
    if data_type == "timestamp with time zone":
        return lambda v: None if v is None else (v if isinstance(v, datetime) else from_iso(str(v)))
    if data_type == "numeric":
        return lambda v: None if v is None else Decimal(str(v))
    if data_type == "boolean":
        return lambda v: None if v is None else bool(int(v))
    if data_type in ("jsonb", "json"):
        return lambda v: None if v is None else json.dumps(json.loads(v))  # checked: a bad value stops the copy
    if data_type in ("bigint", "integer", "smallint"):
        return lambda v: None if v is None else int(v)
    return lambda v: v


class _Source:
    """The SQLite database, read in one snapshot on a worker thread (one call at a time)."""

    def __init__(self, path: Path) -> None:
        uri = path.resolve().as_uri() + "?mode=ro"
        self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN")  # one snapshot for every read below

    def schema(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def tables(self) -> list[str]:
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return sorted(str(r[0]) for r in rows)

    def columns(self, table: str) -> list[str]:
        return [str(r[1]) for r in self.conn.execute(f'PRAGMA table_info("{table}")')]

    def count(self, table: str) -> int:
        return int(self.conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])

    def total(self, table: str, column: str) -> Decimal:
        rows = self.conn.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
        return sum((Decimal(str(r[0])) for r in rows), Decimal(0))

    def counter(self, table: str) -> int:
        """SQLite's AUTOINCREMENT high-water mark for ``table`` (0 when it keeps none)."""
        if self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone() is None:
            return 0
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        return 0 if row is None else int(row[0])

    def batches(self, table: str, columns: Sequence[str]) -> Iterator[list[tuple[Any, ...]]]:
        names = ", ".join(f'"{c}"' for c in columns)
        cursor = self.conn.execute(f'SELECT {names} FROM "{table}"')
        while rows := cursor.fetchmany(BATCH):
            yield rows

    def close(self) -> None:
        self.conn.close()


async def _target_tables(conn: Any) -> dict[str, dict[str, str]]:
    rows = await conn.fetch(
        """SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"""
    )
    tables: dict[str, dict[str, str]] = {}
    for row in rows:
        if row["table_name"] not in _SKIP:
            tables.setdefault(str(row["table_name"]), {})[str(row["column_name"])] = str(row["data_type"])
    return tables


def _order(tables: Sequence[str]) -> list[str]:
    return [t for t in FIRST if t in tables] + [t for t in tables if t not in FIRST]


async def copy_sqlite_to_postgres(path: Path, url: str) -> CopyReport:
    """Copy the SQLite database at ``path`` into the empty PostgreSQL database at ``url``, verified.

    Raises CopyRefused (having written no row) for a missing or mismatched source, a target that
    holds rows or cannot be reached, or a copy that does not verify.
    """
    if not path.is_file():  # noqa: ASYNC240 - one stat as the operator's command starts
        raise CopyRefused(f"no SQLite database at {path} (set DATABASE_PATH)")
    expected = len(sqlite_migrations())
    if len(bundled_migrations()) != expected:
        raise CopyRefused(
            f"this bot's PostgreSQL migrations stop at {len(bundled_migrations())} while SQLite's reach {expected}"
        )
    try:
        source = _Source(path)
        schema = await asyncio.to_thread(source.schema)
    except sqlite3.Error as exc:
        raise CopyRefused(f"cannot read {path} as the bot's SQLite database: {exc}") from None
    try:
        if schema != expected:
            raise CopyRefused(f"{path} is at schema {schema}, this bot expects {expected}: start the bot on it once")
        try:
            await (await PostgresDatabase.open(url)).close()  # creates the tables in an empty database
            pool = await connect_pool(url, size=1)
        except (RuntimeError, asyncpg.PostgresError) as exc:  # StorageUnavailable is a RuntimeError
            raise CopyRefused(redact_url(str(exc))) from None
        try:
            async with pool.acquire() as conn:
                return await _copy(source, path, schema, url, conn)
        except (asyncpg.PostgresError, sqlite3.Error) as exc:
            raise CopyRefused(f"the copy failed and was rolled back: {redact_url(str(exc))}") from None
        finally:
            await pool.close()
    finally:
        source.close()


async def _copy(source: _Source, path: Path, schema: int, url: str, conn: Any) -> CopyReport:
    target = await _target_tables(conn)
    tables = await asyncio.to_thread(source.tables)
    if set(tables) != set(target):
        raise CopyRefused(f"the tables differ: SQLite has {sorted(tables)}, PostgreSQL {sorted(target)}")
    occupied = [t for t in tables if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{t}")')]
    if occupied:
        raise CopyRefused(
            f"{redact_url(url)} is not empty ({', '.join(occupied)} hold rows); copy only into an empty one"
        )
    done: list[TableCopy] = []
    async with conn.transaction():
        for table in _order(tables):
            done.append(await _copy_table(source, conn, table, target[table]))
        await _move_sequences(source, conn)
        report = CopyReport(str(path), redact_url(url), schema, tuple(done))
        if not report.verified:
            raise _Unverified(report)
    return report


class _Unverified(CopyRefused):
    def __init__(self, report: CopyReport) -> None:
        super().__init__(render(report))
        self.report = report


async def _copy_table(source: _Source, conn: Any, table: str, types: dict[str, str]) -> TableCopy:
    columns = await asyncio.to_thread(source.columns, table)
    if set(columns) != set(types):
        raise CopyRefused(f"table {table}'s columns differ: SQLite {sorted(columns)}, PostgreSQL {sorted(types)}")
    convert = [_converter(types[c]) for c in columns]
    batches = source.batches(table, columns)
    while True:
        batch = await asyncio.to_thread(next, batches, None)
        if batch is None:
            break
        try:
            records = [tuple(f(v) for f, v in zip(convert, row, strict=True)) for row in batch]
        except (ValueError, ArithmeticError) as exc:
            raise CopyRefused(f"table {table} holds a value PostgreSQL's column cannot take: {exc}") from None
        await conn.copy_records_to_table(table, records=records, columns=columns)
    rows = await asyncio.to_thread(source.count, table)
    copied = int(await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"'))
    money: dict[str, tuple[Decimal, Decimal]] = {}
    for column in (c for c in columns if types[c] == "numeric"):
        theirs = await asyncio.to_thread(source.total, table, column)
        ours = Decimal(await conn.fetchval(f'SELECT COALESCE(SUM("{column}"), 0) FROM "{table}"'))
        money[column] = (theirs, ours)
    log.info("copied %s: %d of %d rows", table, copied, rows)
    return TableCopy(table, rows, copied, money)


async def _move_sequences(source: _Source, conn: Any) -> None:
    identities = await conn.fetch(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND is_identity = 'YES'"""
    )
    for row in identities:
        table, column = str(row["table_name"]), str(row["column_name"])
        highest = int(await conn.fetchval(f'SELECT COALESCE(MAX("{column}"), 0) FROM "{table}"'))
        highest = max(highest, await asyncio.to_thread(source.counter, table))
        if highest > 0:  # the next id is one past the highest ever handed out
            await conn.execute("SELECT setval(pg_get_serial_sequence($1, $2), $3)", table, column, highest)
