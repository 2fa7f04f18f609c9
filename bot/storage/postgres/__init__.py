"""The PostgreSQL backend (asyncpg; ``pip install 'eggbot[postgres]'``), chosen by ``DATABASE_URL``.

``database`` (pool, transactions on worker threads, health), ``migrations`` (numbered scripts, the
same numbers as SQLite's), and one repository module per area, as in ``bot.storage.sqlite``:
``tasks``, ``ledger``, ``reports``, ``guilds``. ``_bridge`` carries a change's statements from its
thread to the event loop; ``_locks`` is what keeps concurrent reservations from overdrawing.
``copy`` moves an SQLite database into an empty PostgreSQL one (``python -m bot migrate``).
"""

from .database import DatabaseUnavailable, PgTx, PostgresDatabase
from .migrations import bundled_migrations


async def open_postgres(url: str) -> PostgresDatabase:
    """Open the bot's database at ``url`` (migrated as needed)."""
    return await PostgresDatabase.open(url)


__all__ = ["DatabaseUnavailable", "PgTx", "PostgresDatabase", "bundled_migrations", "open_postgres"]
