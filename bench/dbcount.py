"""Counts of database work in a bot process, by the change that did it (``BENCH_DB_COUNTS=1``).

Issue #17 asked why a delivery costs more on PostgreSQL: this probe counts, per process, the
transactions and reads (``Storage.transaction``/``read`` and the direct reads beside them), named
by the function each ran (its ``__qualname__``), and the statements each sent. On SQLite a
statement is what the connection's trace callback sees; on PostgreSQL it is a call through the
bridge (``_bridge.Bridge``), each a round trip through the event loop. Statements are charged to
the change running on that thread; BEGIN, COMMIT and ROLLBACK (both backends) and the direct
reads beside the changes go under ``(begin, commit, outside a change)``.
It wraps the database object the bot was built with; the bot's own code is untouched.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

_current = threading.local()


def _name(fn: Callable[..., Any]) -> str:
    inner = getattr(fn, "func", fn)  # a functools.partial
    name = getattr(inner, "__qualname__", None) or type(inner).__name__
    return str(name).replace(".<locals>", "")


class DbCounter:
    """Transactions, reads and statements so far, by the change's name."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.statements: Counter[str] = Counter()
        self._lock = threading.Lock()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": dict(self.calls), "statements": dict(self.statements)}

    def _call(self, kind: str, name: str, statements: int = 0) -> None:
        with self._lock:
            self.calls[f"{kind} {name}"] += 1
            if statements:
                self.statements[f"{kind} {name}"] += statements

    def statement(self, count: int = 1) -> None:
        name = getattr(_current, "name", None) or "(begin, commit, outside a change)"
        with self._lock:
            self.statements[name] += count

    def _wrap_fn(self, kind: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        label = f"{kind} {_name(fn)}"

        @functools.wraps(fn)  # the database tells reads apart by their function's code (``__wrapped__``)
        def run(tx: Any) -> Any:
            _current.name = label
            try:
                return fn(tx)
            finally:
                _current.name = None

        return run

    async def install(self, db: Any) -> None:
        """Wrap ``db`` (either backend) so every change and statement it runs is counted."""
        postgres = type(db).__module__.startswith("bot.storage.postgres")
        for kind in ("transaction", "read"):
            original = getattr(db, kind)

            def counted(fn: Callable[[Any], Any], *, _kind: str = kind, _original: Any = original) -> Any:
                self._call(_kind, _name(fn))
                return _original(self._wrap_fn(_kind, fn))

            setattr(db, kind, counted)
        for direct in ("get_meta", "set_meta", "fetchall", "fetchone"):
            original = getattr(db, direct)
            if postgres:  # one pooled statement, no change around it

                @functools.wraps(original)
                async def counted_direct(*args: Any, _direct: str = direct, _original: Any = original) -> Any:
                    self._call("direct", _direct, 1)
                    return await _original(*args)

                setattr(db, direct, counted_direct)
        if postgres:
            self._count_bridge()
        else:
            await db._conn.set_trace_callback(lambda sql: self.statement())

    def _count_bridge(self) -> None:
        from asyncpg.transaction import Transaction

        from bot.storage.postgres import database

        bridge_class: Any = vars(database)["Bridge"]  # the class every statement goes through (private module)

        for edge in ("start", "commit", "rollback"):
            original_edge = getattr(Transaction, edge)

            async def counted_edge(transaction: Any, _original: Any = original_edge) -> Any:
                self.statement()
                return await _original(transaction)

            setattr(Transaction, edge, counted_edge)

        for method in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
            original = getattr(bridge_class, method)

            def counted(bridge: Any, *args: Any, _original: Any = original) -> Any:
                self.statement()
                return _original(bridge, *args)

            setattr(bridge_class, method, counted)
