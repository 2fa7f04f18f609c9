"""The database health check on a real SQLite file that stops accepting writes and recovers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.storage.sqlite import Database


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
