"""``python -m bot backup FILE``: a consistent copy while the bot runs, restored into a new start and used."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.storage.sqlite import Database, backup
from bot.storage.sqlite.migrations import bundled_migrations
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan
from testkit.processes import ROOT, run_command
from testkit.starter import BotStarter
from testkit.world import World, answer


def result_for(prompt: str) -> Callable[[FakeMessage], bool]:
    """The channel post carrying the images of the job with this prompt."""
    return lambda message: bool(message.attachments) and not message.ephemeral and prompt in message.content


def operator_env(database: Path) -> dict[str, str]:
    """What an operator's shell has for ``python -m bot backup``: the database path, no token."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "DATABASE_PATH": str(database)}


async def test_a_backup_taken_while_the_bot_runs_is_restored_and_used(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    await start_bot()
    for prompt in ("a first fox", "a second fox"):
        await fake.slash(world.alice, world.general, "imagine", prompt=prompt)
        await fake.wait_for_message(world.general, result_for(prompt))
    eggapi.plan_next(TaskPlan(hold=True))
    held = await (await fake.slash(world.alice, world.general, "imagine", prompt="a held fox")).wait_response()
    await fake.wait_for(lambda f: len(eggapi.tasks) == 3 or None)

    copy = tmp_path / "backups" / "eggbot-copy.db"
    code, out, err = await run_command(operator_env(start_bot.db_path), tmp_path, "backup", str(copy))
    assert code == 0, err
    assert f"to {copy}" in out and f"schema {len(bundled_migrations())}, 3 jobs, integrity ok" in out
    assert [p.name for p in copy.parent.iterdir()] == ["eggbot-copy.db"]  # one file: no -wal, no partial
    await start_bot.stop()

    # Restore: the copy is the new database (a fresh path, as after copying it over DATABASE_PATH).
    restored = tmp_path / "restored" / "eggbot.db"
    restored.parent.mkdir()
    restored.write_bytes(copy.read_bytes())
    await start_bot(DATABASE_PATH=str(restored))
    balance = await answer(world, world.alice, "balance")
    assert "Spent: $0.02 · reserved for running jobs: $0.01" in balance.content
    [held_egg] = [egg_id for egg_id, task in eggapi.tasks.items() if task.request["prompt"] == "a held fox"]
    eggapi.finish(held_egg)  # the job that was running when the copy was made is followed to its end
    await fake.wait_for_message(world.general, result_for("a held fox"))
    await fake.wait_for(lambda f: f.message(held.id).deleted or None)
    await fake.slash(world.bob, world.general, "imagine", prompt="a fox after the restore")
    await fake.wait_for_message(world.general, result_for("a fox after the restore"))
    assert_clean(fake)


def test_the_copy_holds_what_was_committed_and_never_waits_for_a_writer(tmp_path: Path) -> None:
    source = tmp_path / "eggbot.db"
    with sqlite3.connect(source, isolation_level=None) as writer:
        writer.execute("PRAGMA journal_mode = WAL")
        writer.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, prompt TEXT)")
        writer.execute("INSERT INTO tasks (prompt) VALUES ('committed')")
        writer.execute("BEGIN IMMEDIATE")  # a write in progress, as the bot's at any moment
        writer.execute("INSERT INTO tasks (prompt) VALUES ('not yet committed')")
        report = backup(source, tmp_path / "copy.db")
        writer.execute("COMMIT")
    assert report.tasks == 1
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT prompt FROM tasks").fetchall() == [("committed",)]
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)


async def test_refusals_name_the_problem(tmp_path: Path) -> None:
    database = tmp_path / "data" / "eggbot.db"
    env = operator_env(database)
    code, _, err = await run_command(env, tmp_path, "backup", str(tmp_path / "copy.db"))
    assert code == 1 and f"no database at {database}" in err and not database.exists()
    async with await Database.open(database):
        pass
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"something precious")
    code, _, err = await run_command(env, tmp_path, "backup", str(taken))
    assert code == 1 and "already exists" in err and taken.read_bytes() == b"something precious"
    for malformed in ([], ["a.db", "b.db"], ["--force"]):
        code, _, err = await run_command(env, tmp_path, "backup", *malformed)
        assert code == 2 and "usage: python -m bot backup FILE" in err
    url = "postgresql://eggbot:secret@db.example:5432/eggbot"
    code, _, err = await run_command({**env, "DATABASE_URL": url}, tmp_path, "backup", str(tmp_path / "pg.db"))
    assert code == 2 and "DATABASE_URL is set" in err and "pg_dump" in err and "secret" not in err
    assert not (tmp_path / "pg.db").exists()  # not the SQLite file left from before PostgreSQL


def test_a_damaged_database_is_not_copied(tmp_path: Path) -> None:
    source = tmp_path / "eggbot.db"
    source.write_bytes(b"not a database at all" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        backup(source, tmp_path / "copy.db")
    assert list(tmp_path.iterdir()) == [source]
