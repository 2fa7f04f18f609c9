"""The SQLite backend (aiosqlite): ``database`` (connection, one-hop transactions, health),
``migrations`` (numbered scripts), and one repository module per area: ``tasks``, ``ledger``,
``reports``, ``guilds``. ``_thread`` is the one use of aiosqlite's internals.
"""

from pathlib import Path

from .database import Database, Tx
from .migrations import Migration, bundled_migrations


async def open_sqlite(path: Path) -> Database:
    """Open the bot's database at ``path`` (created and migrated as needed)."""
    return await Database.open(path)


__all__ = ["Database", "Migration", "Tx", "bundled_migrations", "open_sqlite"]
