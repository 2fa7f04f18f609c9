"""Numbered PostgreSQL scripts in ``migrations/`` (the same numbers and names as SQLite's), applied in order.

``schema_migrations`` records each applied version. Each script runs in its own transaction under
an advisory lock, so processes starting together against one database apply each script once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.storage._scripts import Migration, numbered_scripts

from ._locks import lock_key

if TYPE_CHECKING:
    from ._bridge import Conn

log = logging.getLogger(__name__)

__all__ = ["Migration", "bundled_migrations", "migrate", "schema_version"]

_LOCK = lock_key("migrations")
_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER     PRIMARY KEY,
    name       TEXT        NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


def bundled_migrations() -> list[Migration]:
    """The migrations shipped in ``bot/storage/postgres/migrations``, in order."""
    return numbered_scripts(__package__ or "bot.storage.postgres")


async def schema_version(conn: Conn) -> int:
    """The newest applied migration (0 for a database the bot never used)."""
    if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        return 0
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))


async def migrate(conn: Conn, migrations: list[Migration]) -> None:
    """Apply every migration newer than the database, each in its own transaction."""
    newest = migrations[-1].version if migrations else 0
    while True:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
            await conn.execute(_TABLE)
            current = await schema_version(conn)
            if current > newest:
                raise RuntimeError(f"database schema {current} is newer than this bot ({newest}); upgrade the bot")
            pending = [m for m in migrations if m.version > current]
            if not pending:
                return
            migration = pending[0]
            log.info("applying migration %s", migration.name)
            await conn.execute(migration.sql)  # a whole script: asyncpg runs it as one simple query
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", migration.version, migration.name
            )
