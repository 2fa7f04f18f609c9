"""The one crossing from a transaction's worker thread to its asyncpg connection on the event loop.

A change is a synchronous function (``bot.storage.ports``); asyncpg is asynchronous and belongs to
the event loop. The function therefore runs on a worker thread, and each statement it issues is
handed to the loop (``run_coroutine_threadsafe``) and waited for there, on the one connection that
holds its transaction. Statements of one transaction run one after another, as the function wrote
them; other coroutines keep running meanwhile. Placeholders are PostgreSQL's ``$1, $2, …``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg

log = logging.getLogger(__name__)

T = TypeVar("T")

Row = asyncpg.Record

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = asyncpg.Connection[Row] | PoolConnectionProxy[Row]
    """A connection, or the pool's stand-in for one."""


def affected(status: str) -> int:
    """The row count in a command tag (``UPDATE 1``, ``INSERT 0 3``, ``DELETE 0``)."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class Bridge:
    """Statements of one transaction, issued from its worker thread; never call it on the event loop."""

    __slots__ = ("_conn", "_loop")

    def __init__(self, conn: Conn, loop: asyncio.AbstractEventLoop) -> None:
        self._conn = conn
        self._loop = loop

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: a worker thread, as it should be
            running = None
        if running is self._loop:  # waiting here would block the loop that must run the statement
            coro.close()
            raise RuntimeError("a PostgreSQL transaction function ran on the event loop; it must run on its thread")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Every row of a query."""
        return self._wait(self._conn.fetch(sql, *args))

    def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row of a query, if any."""
        return self._wait(self._conn.fetchrow(sql, *args))

    def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, if any."""
        return self._wait(self._conn.fetchval(sql, *args))

    def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; how many rows it changed."""
        return affected(self._wait(self._conn.execute(sql, *args)))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row of arguments."""
        batch = [tuple(row) for row in rows]
        if batch:
            self._wait(self._conn.executemany(sql, batch))
