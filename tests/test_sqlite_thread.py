"""Pins what ``bot.storage.sqlite._thread`` relies on in aiosqlite's private ``Connection._execute``.

If an aiosqlite upgrade breaks one of these, one-hop transactions are no longer safe: fix
``_thread.on_connection_thread`` before widening the version range in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.storage.sqlite._thread import on_connection_thread


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    async with aiosqlite.connect(tmp_path / "t.sqlite", isolation_level=None) as connection:
        await connection.execute("CREATE TABLE seen (n INTEGER)")
        yield connection


async def test_runs_on_the_connection_thread_with_its_raw_connection(conn: aiosqlite.Connection) -> None:
    await conn.create_function("thread_id", 0, threading.get_ident)
    cursor = await conn.execute("SELECT thread_id()")
    row = await cursor.fetchone()
    assert row is not None
    public_thread = row[0]

    def probe(raw: sqlite3.Connection) -> tuple[int, bool]:
        return threading.get_ident(), isinstance(raw, sqlite3.Connection)

    thread, raw_ok = await on_connection_thread(conn, probe)
    assert thread == public_thread != threading.get_ident()
    assert raw_ok


async def test_runs_in_order_with_the_public_calls(conn: aiosqlite.Connection) -> None:
    def count(raw: sqlite3.Connection) -> int:
        return int(raw.execute("SELECT COUNT(*) FROM seen").fetchone()[0])

    first = asyncio.ensure_future(conn.execute("INSERT INTO seen VALUES (1)"))
    ours = asyncio.ensure_future(on_connection_thread(conn, count))
    last = asyncio.ensure_future(conn.execute("INSERT INTO seen VALUES (2)"))
    await asyncio.gather(first, ours, last)
    assert ours.result() == 1  # after the first insert, before the second


async def test_an_exception_reaches_the_caller_and_the_connection_goes_on(conn: aiosqlite.Connection) -> None:
    def boom(raw: sqlite3.Connection) -> None:
        raise LookupError("from the database thread")

    with pytest.raises(LookupError, match="from the database thread"):
        await on_connection_thread(conn, boom)
    assert await on_connection_thread(conn, lambda raw: raw.execute("SELECT 7").fetchone()[0]) == 7


async def test_a_closed_connection_refuses_with_value_error(tmp_path: Path) -> None:
    conn = await aiosqlite.connect(tmp_path / "t.sqlite")
    await conn.close()
    with pytest.raises(ValueError):
        await on_connection_thread(conn, lambda raw: None)
