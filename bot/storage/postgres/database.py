"""PostgreSQL storage: an asyncpg pool, versioned migrations, a change per transaction on a worker thread.

``PostgresDatabase`` implements ``bot.storage.Storage`` and ``PgTx`` implements
``bot.storage.Transaction``. A change (a synchronous function of the transaction, as for SQLite)
runs on a worker thread while its transaction's connection stays with the event loop; each
statement crosses over (``_bridge``). So a multi-statement change is atomic, the event loop never
blocks on the database, and domain code is the same for both backends.

Isolation: a change runs at READ COMMITTED, a read at REPEATABLE READ READ ONLY (one consistent
view, as SQLite's reads). Guarded writes (``UPDATE … WHERE status = …``, ``… WHERE state =
'active'``) stay exactly-once at READ COMMITTED: PostgreSQL waits for a concurrent writer of the
row and re-checks the condition on the row it committed. The count-then-write changes (a hold
against a member's spend, one more queued job) lock what they count first (``_locks`` says why
this beats SERIALIZABLE here). A deadlock or serialization failure, which the lock order should
prevent, re-runs the change a few times rather than failing a member's request.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg

from bot.logs import redact_url
from bot.storage.ports import DatabaseAway, IntegrityError, StorageUnavailable

from ._bridge import Bridge, Row
from ._locks import Locks
from .generations import PostgresGenerations
from .guilds import PostgresGuildSettings
from .ledger import PostgresLedger
from .migrations import Migration, bundled_migrations, migrate, schema_version
from .processes import PostgresProcesses
from .reports import PostgresReports
from .tasks import PostgresTasks

log = logging.getLogger(__name__)

T = TypeVar("T")

POOL_SIZE = 10
"""Connections per process, and so changes running at once (each holds one for its duration)."""
ATTEMPTS = 5
"""Runs of one change when PostgreSQL aborts it for a deadlock or a serialization failure."""

_PLACEHOLDER = re.compile(r"\?")


def numbered(sql: str) -> str:
    """SQLite's ``?`` placeholders as PostgreSQL's ``$1, $2, …`` (for raw SQL written once for both)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


class DatabaseUnavailable(StorageUnavailable):
    """The PostgreSQL server could not be reached or refused us; the message never holds the password."""


class PgTx:
    """One PostgreSQL transaction as a change sees it, on its worker thread.

    Its repositories are synchronous and only valid inside the function handed to the database.
    ``execute``/``fetchall``/``fetchone`` are raw SQL with ``?`` placeholders, for tests and tools.
    """

    __slots__ = ("_db", "callbacks", "generations", "guilds", "ledger", "processes", "reports", "tasks")

    def __init__(self, db: Bridge, *, write: bool) -> None:
        self._db = db
        self.callbacks: list[Callable[[], None]] = []
        locks = Locks(db, write=write)
        self.tasks = PostgresTasks(db, locks)
        self.ledger = PostgresLedger(db, locks)
        self.reports = PostgresReports(db)
        self.guilds = PostgresGuildSettings(db, locks)
        self.generations = PostgresGenerations(db)
        self.processes = PostgresProcesses(db)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; how many rows it changed."""
        return self._db.execute(numbered(sql), *params)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a query and return every row."""
        return self._db.fetch(numbered(sql), *params)

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """Run a query and return its first row, if any."""
        return self._db.fetchrow(numbered(sql), *params)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the event loop once the transaction has committed (never if it rolls back)."""
        self.callbacks.append(callback)


async def connect_pool(url: str, *, size: int = POOL_SIZE) -> asyncpg.Pool:
    """A pool on ``url``; DatabaseUnavailable (naming the server, never the password) when it cannot be had."""
    try:
        pool = await asyncpg.create_pool(
            dsn=url, min_size=1, max_size=size, server_settings={"application_name": "eggbot"}
        )
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = redact_url(str(exc)) or type(exc).__name__
        raise DatabaseUnavailable(f"cannot open PostgreSQL at {redact_url(url)}: {reason}") from None
    assert pool is not None
    return pool


_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
"""What a connection the server has closed raises on its first use."""


async def _roll_back(transaction: Any) -> None:
    """End a failed change's transaction without hiding why it failed."""
    try:
        await transaction.rollback()
    except Exception:  # a connection lost mid-change: the server rolls it back itself
        log.debug("rolling back a failed change failed too", exc_info=True)


class _Connected:
    """A pooled connection, with "cannot connect" said as ``DatabaseAway`` (the server refuses or is gone)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: Any = None

    async def __aenter__(self) -> Any:
        try:
            self._conn = await self._pool.acquire()
        except (*_LOST, asyncpg.PostgresError, TimeoutError) as exc:  # no session at all: nothing was sent
            raise DatabaseAway(f"PostgreSQL refuses connections ({type(exc).__name__})") from exc
        return self._conn

    async def __aexit__(self, *exc: object) -> None:
        await self._pool.release(self._conn)


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve the outcome of a change whose caller was cancelled (it ran to its end regardless)."""
    if not future.cancelled() and future.exception() is not None:
        log.debug("a change whose caller gave up failed", exc_info=future.exception())


class PostgresDatabase:
    """The bot's PostgreSQL database (``DATABASE_URL``)."""

    def __init__(self, pool: asyncpg.Pool, url: str, *, size: int = POOL_SIZE) -> None:
        self._pool = pool
        self.target = redact_url(url)
        """Where it is, for people: the URL with its password masked."""
        self._size = size
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="eggbot-pg")
        self._was_writable = True

    @classmethod
    async def open(
        cls, url: str, migrations: Iterable[Migration] | None = None, *, size: int = POOL_SIZE
    ) -> PostgresDatabase:
        """Connect and migrate to the newest version (an empty database gets every table)."""
        db = cls(await connect_pool(url, size=size), url, size=size)
        try:
            await db.migrate(bundled_migrations() if migrations is None else list(migrations))
        except BaseException:
            await db.close()
            raise
        return db

    @classmethod
    async def open_existing(cls, url: str) -> PostgresDatabase:
        """Connect to a database the bot set up, migrating nothing (for operator tools).

        Raises RuntimeError when its schema is not the one this code expects (an older or newer bot).
        """
        db = cls(await connect_pool(url), url)
        try:
            found, expected = await db.schema_version(), len(bundled_migrations())
            if found != expected:
                raise RuntimeError(f"the database is at schema {found}, this code expects {expected}")
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Close the pool once the changes running have finished."""
        await self._pool.close()
        self._threads.shutdown(wait=False)

    async def __aenter__(self) -> PostgresDatabase:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        """The newest applied migration."""
        async with self._pool.acquire() as conn:
            return await schema_version(conn)

    async def migrate(self, migrations: list[Migration]) -> None:
        """Apply every migration newer than the database, each in its own transaction."""
        async with self._pool.acquire() as conn:
            await migrate(conn, migrations)

    async def transaction(self, fn: Callable[[PgTx], T]) -> T:
        """Run ``fn(tx)`` in one READ COMMITTED transaction; all of it commits, or none (the exception propagates).

        ``tx.after_commit`` callbacks run on the event loop after the commit, in order, even if the
        caller was cancelled meanwhile: like SQLite's, a change that started runs to its end.
        """
        done = asyncio.ensure_future(self._run(fn, write=True))
        done.add_done_callback(_consume)
        return await asyncio.shield(done)

    async def read(self, fn: Callable[[PgTx], T]) -> T:
        """Run ``fn(tx)`` (reads only) against one consistent view (REPEATABLE READ, READ ONLY)."""
        return await self._run(fn, write=False)

    async def _run(self, fn: Callable[[PgTx], T], *, write: bool) -> T:
        loop = asyncio.get_running_loop()
        attempt = stale = 1
        while True:
            try:
                async with _Connected(self._pool) as conn:
                    tx = PgTx(Bridge(conn, loop), write=write)
                    transaction = conn.transaction(
                        isolation="read_committed" if write else "repeatable_read", readonly=not write
                    )
                    try:
                        await transaction.start()
                    except _LOST as exc:
                        # The server closed this idle connection (a restart, a failover, an idle
                        # timeout). Nothing was sent yet, so begin again on a fresh one.
                        if stale > self._size:
                            raise
                        log.info("a pooled connection was gone (%s); taking another", type(exc).__name__)
                        stale += 1
                        continue
                    try:
                        result = await loop.run_in_executor(self._threads, fn, tx)
                    except BaseException:
                        await _roll_back(transaction)
                        raise
                    await transaction.commit()
            except asyncpg.IntegrityConstraintViolationError as exc:
                raise IntegrityError(str(exc)) from exc
            except _LOST as exc:  # connected, then cut off (or every pooled connection was gone)
                raise DatabaseAway(f"PostgreSQL dropped the connection ({type(exc).__name__})") from exc
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError) as exc:
                if attempt >= ATTEMPTS:
                    raise
                log.warning("a change was aborted (%s); running it again (%d of %d)", exc.sqlstate, attempt, ATTEMPTS)
                attempt += 1
                continue
            for callback in tx.callbacks:
                try:
                    callback()
                except Exception:
                    log.exception("an after-commit callback failed")
            return result

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Run a read query (``?`` placeholders) and return every row."""
        async with self._pool.acquire() as conn:
            return list(await conn.fetch(numbered(sql), *params))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """Run a read query (``?`` placeholders) and return its first row, if any."""
        async with self._pool.acquire() as conn:
            row: Row | None = await conn.fetchrow(numbered(sql), *params)
            return row

    async def is_writable(self) -> bool:
        """Whether a write can be committed right now (for health checks); changes of state are logged once."""
        try:
            try:
                await self._probe()
            except _LOST:  # an idle connection the server closed: one fresh try says more
                await self._probe()
        except Exception as exc:  # any failure means "not writable"
            if self._was_writable:
                log.warning("the database is not writable: %s: %s", type(exc).__name__, redact_url(str(exc)))
            log.debug("database health check failed", exc_info=True)
            self._was_writable = False
            return False
        if not self._was_writable:
            log.info("the database is writable again")
            self._was_writable = True
        return True

    async def _probe(self) -> None:
        async with self._pool.acquire(timeout=5) as conn:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('health', now()::text) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                timeout=5,
            )

    async def get_meta(self, key: str) -> str | None:
        """A stored fact, or None."""
        async with self._pool.acquire() as conn:
            value = await conn.fetchval("SELECT value FROM meta WHERE key = $1", key)
        return None if value is None else str(value)

    async def reserve_slot(self, key: str, interval: float, now: float) -> float:
        """See ``Storage.reserve_slot``: the previous slot is kept in ``meta``, its row locked while read."""

        def reserve(tx: PgTx) -> float:
            tx.execute("INSERT INTO meta (key, value) VALUES (?, '') ON CONFLICT (key) DO NOTHING", (f"slot:{key}",))
            row = tx.fetchone("SELECT value FROM meta WHERE key = ? FOR UPDATE", (f"slot:{key}",))
            previous = row["value"] if row is not None else ""
            slot = now if not previous else max(now, float(previous) + interval)
            tx.execute("UPDATE meta SET value = ? WHERE key = ?", (repr(slot), f"slot:{key}"))
            return slot

        return await self.transaction(reserve)

    async def set_meta(self, key: str, value: str) -> None:
        """Store a fact."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                key,
                value,
            )


__all__ = ["ATTEMPTS", "POOL_SIZE", "DatabaseUnavailable", "PgTx", "PostgresDatabase", "connect_pool", "numbered"]
