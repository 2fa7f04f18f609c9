"""The SQLite backend (aiosqlite): ``database`` (connection, one-hop transactions, health),
``migrations`` (numbered scripts), and one repository module per area: ``tasks``, ``ledger``,
``reports``, ``guilds``. ``_thread`` is the one use of aiosqlite's internals. ``maintenance`` is the
operator's view of the file: a consistent backup while the bot runs, and a check-up for ``doctor``.
"""

from pathlib import Path

from .database import Database, Tx
from .maintenance import BackupReport, DatabaseCheckup, backup, check_up
from .migrations import Migration, bundled_migrations


async def open_sqlite(path: Path) -> Database:
    """Open the bot's database at ``path`` (created and migrated as needed)."""
    return await Database.open(path)


__all__ = [
    "BackupReport",
    "Database",
    "DatabaseCheckup",
    "Migration",
    "Tx",
    "backup",
    "bundled_migrations",
    "check_up",
    "open_sqlite",
]
