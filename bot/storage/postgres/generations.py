"""SQL for the ``generations`` table (``GenerationRepository``), PostgreSQL dialect."""

from __future__ import annotations

import logging

from ._bridge import Bridge

log = logging.getLogger(__name__)


class PostgresGenerations:
    """``GenerationRepository`` over one PostgreSQL transaction."""

    __slots__ = ("_db",)

    def __init__(self, db: Bridge) -> None:
        self._db = db

    def get(self, name: str) -> int:
        value = self._db.fetchval("SELECT value FROM generations WHERE name = $1", name)
        return 0 if value is None else int(value)

    def bump(self, name: str) -> int:
        # The row lock makes concurrent writers of one name take turns: each adds its own one.
        value = self._db.fetchval(
            "INSERT INTO generations (name, value) VALUES ($1, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = generations.value + 1 RETURNING value",
            name,
        )
        return int(value)
