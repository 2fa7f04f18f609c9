"""SQL for the ``generations`` table (``GenerationRepository``): what processes' caches compare against."""

from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger(__name__)


class SqliteGenerations:
    """``GenerationRepository`` over one SQLite connection, inside the caller's transaction."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, name: str) -> int:
        rows = self._conn.execute("SELECT value FROM generations WHERE name = ?", (name,)).fetchall()
        return int(rows[0][0]) if rows else 0

    def bump(self, name: str) -> int:
        [row] = self._conn.execute(  # stepped to the end: no statement left open at COMMIT
            "INSERT INTO generations (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ).fetchall()
        return int(row[0])
