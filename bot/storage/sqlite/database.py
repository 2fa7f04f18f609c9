"""SQLite storage: one aiosqlite connection in WAL mode, versioned migrations, serialised writes.

Every change is a plain synchronous function of a ``Tx`` (the connection as seen from the database
thread) that ``Database.transaction(fn)`` runs inside ``BEGIN IMMEDIATE … COMMIT`` in a single hop
to aiosqlite's thread: a multi-statement change (a task row plus its quota hold) is atomic, costs
one round trip however many statements it has, and concurrent coroutines never interleave inside
it. ``Database.read(fn)`` runs several reads in one hop the same way. ``Database`` implements
``bot.storage.Storage`` and ``Tx`` implements ``bot.storage.Transaction``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.storage.ports import IntegrityError

from ._thread import on_connection_thread
from .generations import SqliteGenerations
from .guilds import SqliteGuildSettings
from .ledger import SqliteLedger
from .migrations import Migration, apply, bundled_migrations
from .processes import SqliteProcesses
from .reports import SqliteReports
from .tasks import SqliteTasks

log = logging.getLogger(__name__)

T = TypeVar("T")


class Tx:
    """The connection inside ``Database.transaction`` or ``Database.read``, on the database thread.

    Its methods and repositories are synchronous and must only be used from the function handed to
    the database; what has to happen on the event loop once the change is durable goes to
    ``after_commit``. ``execute``/``fetchall``/``fetchone`` are raw SQL for SQLite-only code (tests, tools).
    """

    __slots__ = ("callbacks", "conn", "generations", "guilds", "ledger", "processes", "reports", "tasks")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.callbacks: list[Callable[[], None]] = []
        self.tasks = SqliteTasks(conn)
        self.ledger = SqliteLedger(conn)
        self.reports = SqliteReports(conn)
        self.guilds = SqliteGuildSettings(conn)
        self.generations = SqliteGenerations(conn)
        self.processes = SqliteProcesses(conn)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one statement."""
        return self.conn.execute(sql, tuple(params))

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a query and return every row."""
        return self.conn.execute(sql, tuple(params)).fetchall()

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        """Run a query and return its first row, if any."""
        rows = self.fetchall(sql, params)  # stepped to the end: no statement left open at COMMIT
        return rows[0] if rows else None

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the event loop once the transaction has committed (never if it rolls back)."""
        self.callbacks.append(callback)


@dataclass(slots=True)
class _Outcome:
    result: Any
    callbacks: list[Callable[[], None]]


def _run_transaction(fn: Callable[[Tx], Any], conn: sqlite3.Connection) -> _Outcome:
    tx = Tx(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(tx)
        conn.execute("COMMIT")  # may fail too (a deferred constraint, a full disk): then nothing happened
    except sqlite3.IntegrityError as exc:
        _roll_back(conn)
        raise IntegrityError(str(exc)) from exc
    except BaseException:
        _roll_back(conn)
        raise
    return _Outcome(result, tx.callbacks)


def _roll_back(conn: sqlite3.Connection) -> None:
    """End the failed transaction, whatever state SQLite left it in, without hiding the error."""
    if not conn.in_transaction:  # some errors (disk full) have rolled back already
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        log.exception("rolling back a failed transaction failed too")


def _call_back(outcome: _Outcome) -> None:
    for callback in outcome.callbacks:
        try:
            callback()
        except Exception:
            log.exception("an after-commit callback failed")


WAL_ATTEMPTS = 50


async def _use_wal(conn: aiosqlite.Connection) -> None:
    """Switch to WAL, waiting for a process that opens the same new file at the same moment.

    Switching takes an exclusive lock, and SQLite answers "database is locked" at once instead of
    calling the busy handler, so several bot processes started together on one new file (shards on one
    machine) would fail to start: retry for up to about 2.5 s.
    """
    for attempt in range(WAL_ATTEMPTS):
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.05)


class Database:
    """The bot's SQLite database."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._was_writable = True  # what the last health check found, so only changes are logged

    @classmethod
    async def open(cls, path: Path, migrations: Iterable[Migration] | None = None) -> Database:
        """Open (creating folders and file as needed) and migrate to the newest version."""
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute("PRAGMA busy_timeout = 5000")
            await _use_wal(conn)
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            db = cls(conn, path)
            await db.migrate(bundled_migrations() if migrations is None else list(migrations))
        except BaseException:
            await conn.close()
            raise
        return db

    @classmethod
    async def open_existing(cls, path: Path) -> Database:
        """Open a database the bot created, without creating or migrating anything (for operator tools).

        Raises FileNotFoundError when there is none at ``path``, RuntimeError when its schema is not
        the one this code expects (an older or newer bot).
        """
        if not path.is_file():  # noqa: ASYNC240 - one stat as an operator command starts
            raise FileNotFoundError(f"no database at {path}")
        uri = path.resolve().as_uri() + "?mode=rw"  # noqa: ASYNC240 - read-write, never create
        conn = await aiosqlite.connect(uri, uri=True, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA busy_timeout = 5000")
            db = cls(conn, path)
            found, expected = await db.schema_version(), len(bundled_migrations())
            if found != expected:
                raise RuntimeError(f"the database is at schema {found}, this code expects {expected}")
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        """Close the connection once everything asked of it has run."""
        try:
            await self._on_thread(lambda conn: None)  # work whose caller gave up may not be queued yet
        except ValueError:  # closed already
            return
        await self._conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        """The applied migration version (``PRAGMA user_version``)."""
        row = await self.read(lambda tx: tx.fetchone("PRAGMA user_version"))
        return int(row[0]) if row else 0

    async def migrate(self, migrations: list[Migration]) -> None:
        """Apply every migration newer than the database, each in its own transaction."""
        current = await self.schema_version()
        newest = migrations[-1].version if migrations else 0
        if current > newest:
            raise RuntimeError(f"database schema {current} is newer than this bot ({newest}); upgrade the bot")
        for migration in migrations:
            if migration.version <= current:
                continue
            log.info("applying migration %s", migration.name)
            await self.transaction(functools.partial(_migrate, migration))

    async def transaction(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn(tx)`` inside ``BEGIN IMMEDIATE … COMMIT`` on the database thread, in one hop.

        Any exception rolls everything back and propagates; ``tx.after_commit`` callbacks run on
        the event loop after the commit, in order (even if the caller was cancelled meanwhile).
        """
        outcome = await self._on_thread(lambda conn: _run_transaction(fn, conn), then=_call_back)
        result: T = outcome.result
        return result

    async def read(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn(tx)`` (reads only) on the database thread, in one hop."""
        return await self._on_thread(lambda conn: fn(Tx(conn)))

    async def _on_thread(self, fn: Callable[[sqlite3.Connection], T], then: Callable[[T], None] | None = None) -> T:
        # One function is one item in aiosqlite's queue (see ``_thread``): no lock is needed for
        # nothing else to run inside it. Every test that touches the database goes through here.
        done = asyncio.ensure_future(on_connection_thread(self._conn, fn))
        if then is not None:
            done.add_done_callback(lambda f: None if f.cancelled() or f.exception() else then(f.result()))
        # A cancelled caller does not stop the thread: the work finishes (and ``then`` runs).
        return await asyncio.shield(done)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Run a read query and return every row."""
        query = tuple(params)
        return await self.read(lambda tx: tx.fetchall(sql, query))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """Run a read query and return its first row, if any."""
        query = tuple(params)
        return await self.read(lambda tx: tx.fetchone(sql, query))

    async def is_writable(self) -> bool:
        """Whether a write transaction can be opened right now (for health checks).

        Probes come every few seconds: a change is logged once (WARNING when writes start failing,
        INFO when they work again), repeats only at DEBUG.
        """
        try:
            await self.transaction(
                lambda tx: tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('health', datetime('now'))")
            )
        except Exception as exc:  # any failure means "not writable"
            if self._was_writable:
                log.warning("the database is not writable: %s: %s", type(exc).__name__, exc)
            log.debug("database health check failed", exc_info=True)
            self._was_writable = False
            return False
        if not self._was_writable:
            log.info("the database is writable again")
            self._was_writable = True
        return True

    async def get_meta(self, key: str) -> str | None:
        """A stored fact, or None."""
        row = await self.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    async def set_meta(self, key: str, value: str) -> None:
        """Store a fact."""
        await self.transaction(
            lambda tx: tx.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        )

    async def reserve_slot(self, key: str, interval: float, now: float) -> float:
        """See ``Storage.reserve_slot``: the previous slot is kept in ``meta`` under ``slot:<key>``."""

        def reserve(tx: Tx) -> float:
            row = tx.fetchone("SELECT value FROM meta WHERE key = ?", (f"slot:{key}",))
            slot = now if row is None else max(now, float(row["value"]) + interval)
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (f"slot:{key}", repr(slot)),
            )
            return slot

        return await self.transaction(reserve)


def _migrate(migration: Migration, tx: Tx) -> None:
    """Apply one migration unless another process sharing the file did meanwhile (checked under the write lock)."""
    row = tx.fetchone("PRAGMA user_version")
    if row is not None and int(row[0]) >= migration.version:
        log.info("migration %s was applied by another process", migration.name)
        return
    apply(migration, tx.conn)
