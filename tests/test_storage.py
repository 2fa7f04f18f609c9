"""Storage: migrations and the task store against a real SQLite file, and the same contract on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from bot.lifecycle.model import ImagineRequest, TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.storage import IntegrityError
from bot.storage.sqlite import Database, Migration, Tx, bundled_migrations
from testkit.backends import AnyTx, Backend


def request(**overrides: object) -> ImagineRequest:
    values: dict[str, object] = {
        "guild_id": 1,
        "channel_id": 2,
        "member_id": 3,
        "prompt": "a red fox in snow",
        "count": 2,
        "aspect_ratio": "9:16",
        "resolution": "2k",
        "negative_prompt": "blur",
        "reference_urls": ("https://cdn.example/a.png",),
        "interaction_id": 99,
    }
    values.update(overrides)
    return ImagineRequest(**values)  # type: ignore[arg-type]


async def test_migrations_apply_once_and_use_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "eggbot.db"
    async with await Database.open(path) as db:
        assert await db.schema_version() == len(bundled_migrations())
        row = await db.fetchone("PRAGMA journal_mode")
        assert row is not None and row[0] == "wal"
    async with await Database.open(path) as db:  # reopening applies nothing twice
        assert await db.schema_version() == len(bundled_migrations())


async def test_processes_opening_one_new_file_together_each_get_it_migrated(tmp_path: Path) -> None:
    """Bot processes started at once on one new SQLite file (a sharded deployment on one machine)."""
    for attempt in range(30):
        path = tmp_path / f"shared-{attempt}.db"
        opened = await asyncio.gather(*(Database.open(path) for _ in range(6)))
        try:
            assert {await db.schema_version() for db in opened} == {len(bundled_migrations())}
        finally:
            for db in opened:
                await db.close()


async def test_reserved_slots_are_spaced_whoever_asks(backend: Backend) -> None:
    """Two connections (two processes' worth) take turns: IDENTIFY pacing across bot processes."""
    first, second = await backend.open(), await backend.open()
    try:
        slots = await asyncio.gather(*(db.reserve_slot("identify:0", 5.0, 100.0) for db in (first, second) * 3))
        assert sorted(slots) == [100.0, 105.0, 110.0, 115.0, 120.0, 125.0]
        assert await first.reserve_slot("identify:1", 5.0, 100.0) == 100.0  # another bucket: its own turns
        assert await second.reserve_slot("identify:0", 5.0, 1000.0) == 1000.0  # long after: at once
    finally:
        await first.close()
        await second.close()


async def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    bad = Migration(len(bundled_migrations()) + 1, "bad", "CREATE TABLE t (x); SELEC nonsense")
    broken = [*bundled_migrations(), bad]
    with pytest.raises(sqlite3.OperationalError):
        await Database.open(tmp_path / "db.sqlite", broken)
    async with await Database.open(tmp_path / "db.sqlite") as db:
        assert await db.schema_version() == len(bundled_migrations())
        assert await db.fetchone("SELECT name FROM sqlite_master WHERE name = 't'") is None


async def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    async with await Database.open(path) as db:
        await db.transaction(lambda tx: tx.execute("PRAGMA user_version = 999"))
    with pytest.raises(RuntimeError, match="newer"):
        await Database.open(path)


async def test_task_round_trip_keeps_every_parameter(backend: Backend) -> None:
    async with await backend.open() as db:
        store = TaskStore(db)
        task = await store.create(request())
        again = await store.get(task.id)
        assert again == task
        assert task.status is TaskStatus.QUEUED
        assert (task.guild_id, task.channel_id, task.member_id) == (1, 2, 3)
        assert (task.prompt, task.negative_prompt, task.aspect_ratio, task.count, task.resolution) == (
            "a red fox in snow",
            "blur",
            "9:16",
            2,
            "2k",
        )
        assert task.reference_urls == ("https://cdn.example/a.png",)
        assert task.mode == "image_edit"


async def test_guarded_transitions(backend: Backend) -> None:
    async with await backend.open() as db:
        store = TaskStore(db)
        task = await store.create(request())
        assert await store.transition(task.id, TaskStatus.QUEUED, TaskStatus.SUBMITTING)
        # A second claim of the same step does nothing: restarts and races cannot apply it twice.
        assert not await store.transition(task.id, TaskStatus.QUEUED, TaskStatus.SUBMITTING)
        assert await store.transition(task.id, TaskStatus.SUBMITTING, TaskStatus.RUNNING, egg_task_id="gen_1")
        assert await store.transition(
            task.id,
            TaskStatus.RUNNING,
            TaskStatus.COMPLETED,
            cost=Decimal("0.0200"),
            output_urls=("https://f/0.png", "https://f/1.png"),
        )
        assert await store.transition(task.id, TaskStatus.COMPLETED, TaskStatus.DELIVERING)
        assert await store.transition(task.id, TaskStatus.DELIVERING, TaskStatus.DELIVERED, result_message_ids=[5, 6])
        done = await store.get(task.id)
        assert done is not None and done.status is TaskStatus.DELIVERED
        assert done.cost == Decimal("0.0200") and done.output_urls == ("https://f/0.png", "https://f/1.png")
        assert done.result_message_ids == (5, 6) and done.egg_task_id == "gen_1"
        assert await store.get_by_egg_id("gen_1") == done
        with pytest.raises(ValueError, match="illegal"):
            await store.transition(task.id, TaskStatus.DELIVERED, TaskStatus.QUEUED)
        with pytest.raises(ValueError, match="columns"):
            await store.update(task.id, prompt="changed")


async def test_unfinished_tasks_survive_a_reopen(backend: Backend) -> None:
    async with await backend.open() as db:
        store = TaskStore(db)
        queued = await store.create(request())
        done = await store.create(request(prompt="other"))
        await store.transition(done.id, TaskStatus.QUEUED, TaskStatus.CANCELLED)
    async with await backend.open() as db:
        unfinished = await TaskStore(db).list_unfinished()
        assert [t.id for t in unfinished] == [queued.id]


async def test_concurrent_claims_only_one_wins(backend: Backend) -> None:
    async with await backend.open() as db:
        store = TaskStore(db)
        task = await store.create(request())
        results = await asyncio.gather(
            *(store.transition(task.id, TaskStatus.QUEUED, TaskStatus.SUBMITTING) for _ in range(20))
        )
        assert results.count(True) == 1


async def test_meta_and_rollback(backend: Backend) -> None:
    async with await backend.open() as db:
        await db.set_meta("k", "v1")
        await db.set_meta("k", "v2")
        assert await db.get_meta("k") == "v2"

        def boom(tx: AnyTx) -> None:
            tx.execute("INSERT INTO meta (key, value) VALUES ('gone', 'x')")
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await db.transaction(boom)
        assert await db.get_meta("gone") is None
        assert await db.is_writable()


async def test_listeners_hear_only_committed_changes(backend: Backend) -> None:
    async with await backend.open() as db:
        store = TaskStore(db)
        heard: list[tuple[int, TaskStatus]] = []
        store.add_listener(lambda task_id, new: heard.append((task_id, new)))
        task = await store.create(request())

        def fail(tx: AnyTx) -> None:
            assert store.transition_in(tx, task.id, [TaskStatus.QUEUED], TaskStatus.SUBMITTING)
            assert heard == []  # not before the commit
            raise RuntimeError("the hold could not be written")

        with pytest.raises(RuntimeError):
            await db.transaction(fail)
        assert heard == [] and (await store.get(task.id)).status is TaskStatus.QUEUED  # type: ignore[union-attr]
        assert await store.transition(task.id, TaskStatus.QUEUED, TaskStatus.SUBMITTING)
        assert heard == [(task.id, TaskStatus.SUBMITTING)]


async def test_concurrent_transactions_never_interleave(tmp_path: Path) -> None:
    """Read-modify-write in Python between two statements: fifty at once lose no update (SQLite's single writer;
    on PostgreSQL such a change locks what it reads: tests/test_storage_postgres.py)."""
    async with await Database.open(tmp_path / "db.sqlite") as db:
        await db.set_meta("counter", "0")

        def increment(tx: Tx) -> None:
            row = tx.fetchone("SELECT value FROM meta WHERE key = 'counter'")
            assert row is not None
            tx.execute("UPDATE meta SET value = ? WHERE key = 'counter'", (str(int(row["value"]) + 1),))

        await asyncio.gather(*(db.transaction(increment) for _ in range(50)))
        assert await db.get_meta("counter") == "50"


async def test_after_commit_runs_once_committed_even_if_the_caller_is_cancelled(backend: Backend) -> None:
    async with await backend.open() as db:
        committed, started, release = asyncio.Event(), asyncio.Event(), threading.Event()
        loop = asyncio.get_running_loop()

        def slow(tx: AnyTx) -> None:
            tx.execute("INSERT INTO meta (key, value) VALUES ('slow', 'x')")
            tx.after_commit(committed.set)
            loop.call_soon_threadsafe(started.set)
            release.wait(5)  # the database thread is still inside the transaction

        caller = asyncio.create_task(db.transaction(slow))
        await started.wait()
        caller.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await caller
        async with asyncio.timeout(5):
            await committed.wait()  # the callback ran although nobody awaits the transaction any more
        assert await db.get_meta("slow") == "x"


async def test_a_failed_commit_leaves_the_database_usable(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "db.sqlite") as db:

        def orphan(tx: Tx) -> None:  # a foreign key checked only at COMMIT, which then fails
            tx.execute("PRAGMA defer_foreign_keys = ON")
            tx.execute(
                "INSERT INTO ledger_holds (task_id, guild_id, member_id, period_start, reserved, state, created_at, "
                "updated_at) VALUES (4242, 1, 2, '2026-01-01', '0.01', 'active', '2026-01-01', '2026-01-01')"
            )

        with pytest.raises(IntegrityError):
            await db.transaction(orphan)
        assert await db.fetchone("SELECT task_id FROM ledger_holds") is None
        assert await db.is_writable()
        await db.set_meta("after", "yes")
        assert await db.get_meta("after") == "yes"
