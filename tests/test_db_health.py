"""The database health check on a real database (SQLite file, PostgreSQL server) that stops accepting writes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.storage.postgres import PostgresDatabase
from bot.storage.sqlite import Database
from testkit.backends import Backend


async def test_a_read_only_database_is_reported_once_not_on_every_probe(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with await Database.open(tmp_path / "eggbot.db") as db:
        assert await db.is_writable()
        await db.read(lambda tx: tx.execute("PRAGMA query_only = ON"))
        with caplog.at_level(logging.INFO, logger="bot.storage.sqlite.database"):
            assert [await db.is_writable() for _ in range(5)] == [False] * 5
            await db.read(lambda tx: tx.execute("PRAGMA query_only = OFF"))
            assert await db.is_writable()
            assert await db.is_writable()
    records = [r for r in caplog.records if r.name == "bot.storage.sqlite.database"]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.WARNING, "the database is not writable: OperationalError: attempt to write a readonly database"),
        (logging.INFO, "the database is writable again"),
    ]
    assert all(r.exc_info is None for r in records)  # no traceback per probe


async def test_a_read_only_postgresql_database_is_reported_once_and_its_recovery_too(
    postgres: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    url = await postgres.url()
    name = url.rsplit("/", 1)[-1]
    server = postgres.server
    assert server is not None

    async def read_only(on: bool) -> None:  # for new sessions; the ones there are ended (waited for) and come back
        await server.admin(f"ALTER DATABASE {name} SET default_transaction_read_only = {'on' if on else 'off'}")
        await server.admin(f"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{name}'")

    async with await PostgresDatabase.open(url) as db:
        assert await db.is_writable()
        with caplog.at_level(logging.INFO, logger="bot.storage.postgres.database"):
            await read_only(True)
            assert [await db.is_writable() for _ in range(5)] == [False] * 5
            await read_only(False)
            assert await db.is_writable()
            assert await db.is_writable()
    records = [r for r in caplog.records if r.name == "bot.storage.postgres.database"]
    assert [(r.levelno, r.getMessage().split(":")[0]) for r in records] == [
        (logging.WARNING, "the database is not writable"),
        (logging.INFO, "the database is writable again"),
    ]
    assert all(r.exc_info is None for r in records)
