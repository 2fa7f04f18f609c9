"""The storage backends a test runs on: ``Backend`` is one test's database, on SQLite or PostgreSQL.

The storage, ledger and lifecycle tests take it from the ``backend`` fixture (``tests/conftest.py``),
parametrised over both, so one test body checks both backends. ``open()`` opens (and, called
again, reopens) the test's own database: an SQLite file in the test's folder, or a fresh
PostgreSQL database made from the migrated template of the session's server (``testkit.postgres``).
``start_bot(DATABASE_URL=await backend.url())`` runs the real bot on the PostgreSQL one; a module
whose every test runs the real bot once per backend says so with the ``on_each_backend`` fixture.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.storage.postgres import PgTx, PostgresDatabase
from bot.storage.sqlite import Database, Tx

from .postgres import PostgresServer

log = logging.getLogger(__name__)

AnyDatabase = Database | PostgresDatabase
"""Either backend's database, with the raw-SQL helpers tests use (``?`` placeholders on both)."""
AnyTx = Tx | PgTx
"""Either backend's transaction."""

BACKENDS = ("sqlite", "postgres")

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
"""For a test of a module run on each backend that is about SQLite itself (its file lock, say): SQLite only."""
POSTGRES_ONLY = pytest.mark.parametrize("backend", ["postgres"], indirect=True)
"""Likewise, for a test of a fault only PostgreSQL has (a server-side refusal, say): PostgreSQL only."""


class Backend:
    """One test's database on one backend."""

    def __init__(self, name: str, tmp_path: Path, server: PostgresServer | None = None) -> None:
        if (name == "postgres") != (server is not None):
            raise ValueError("a PostgreSQL backend needs the session's server, and only it")
        self.name = name
        self.path = tmp_path / "eggbot.db"
        self.server = server
        self._url: str | None = None

    @property
    def postgres(self) -> bool:
        """Whether this is the PostgreSQL backend."""
        return self.server is not None

    async def url(self) -> str:
        """The PostgreSQL database's URL (created on first use); only for the PostgreSQL backend."""
        if self.server is None:
            raise ValueError("the SQLite backend has no URL")
        if self._url is None:
            self._url = await self.server.create_database()
        return self._url

    async def open(self) -> AnyDatabase:
        """Open the test's database (created and migrated on first use)."""
        if self.server is None:
            return await Database.open(self.path)
        return await PostgresDatabase.open(await self.url())

    async def drop(self) -> None:
        """Remove the PostgreSQL database, if one was made."""
        if self.server is not None and self._url is not None:
            await self.server.drop_database(self._url)
            self._url = None
