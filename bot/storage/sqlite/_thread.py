"""The one place that reaches into aiosqlite's internals: run a function on the connection's thread.

aiosqlite's public API takes one statement per call, each a hop to its thread and back; a change
of several statements (a task row plus its quota hold) would cost one hop each and let other
coroutines' statements interleave. ``Connection._execute`` queues any callable on that same thread,
in order with every other call, which is what one-hop transactions need. It is private, so the
aiosqlite version range is pinned in pyproject.toml and ``tests/test_sqlite_thread.py`` pins the
behaviour relied on: the function runs on the connection's thread, FIFO with the public calls, and
its exception reaches the awaiting caller.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

T = TypeVar("T")


def on_connection_thread(conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T]) -> Coroutine[Any, Any, T]:
    """A coroutine that queues ``fn(raw connection)`` on ``conn``'s thread when first run, and returns its result.

    Raises ValueError once the connection is closed.
    """
    coro: Coroutine[Any, Any, T] = conn._execute(fn, conn._conn)  # type: ignore[no-untyped-call]  # private, pinned
    return coro
