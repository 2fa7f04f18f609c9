"""The ``on_each_backend`` fixture: the bot of each run is on that run's backend, and a restart keeps its database."""

from __future__ import annotations

import pytest

from bot.lifecycle.model import TaskStatus
from bot.storage.postgres import PostgresDatabase
from bot.storage.sqlite import Database
from testkit.backends import POSTGRES_ONLY, SQLITE_ONLY, Backend
from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.processes import BotProcess
from testkit.starter import BotStarter
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")


async def test_the_bot_runs_on_the_runs_backend_and_a_restart_keeps_it(
    request: pytest.FixtureRequest, world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend
) -> None:
    assert request.node.callspec.id == backend.name  # the test id names the backend
    bot = await start_bot()
    assert isinstance(bot.db, PostgresDatabase if backend.postgres else Database)
    await world.fake.slash(world.alice, world.general, "imagine", prompt="kept fox")
    await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments))
    await start_bot.stop()
    bot = await start_bot()
    [task] = await bot.task_store.list_in_states(TaskStatus)
    assert task.prompt == "kept fox"
    async with await backend.open() as db:  # the same database, beside the bot
        row = await db.fetchone("SELECT prompt FROM tasks WHERE id = ?", (task.id,))
    assert row is not None and row["prompt"] == "kept fox"
    assert_clean(world.fake)


async def test_a_bot_process_runs_on_the_runs_backend(
    world: World, eggapi: FakeEggAPI, bot_process: BotProcess, backend: Backend
) -> None:
    await bot_process.start()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="process fox")
    await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments))
    async with await backend.open() as db:
        row = await db.fetchone("SELECT COUNT(*) AS n FROM tasks WHERE prompt = ?", ("process fox",))
    assert row is not None and row["n"] == 1
    assert_clean(world.fake)


@SQLITE_ONLY
async def test_a_test_about_sqlite_runs_on_sqlite_only(
    request: pytest.FixtureRequest, start_bot: BotStarter, backend: Backend
) -> None:
    assert request.node.callspec.id == "sqlite" and not backend.postgres
    assert isinstance((await start_bot()).db, Database)


@POSTGRES_ONLY
async def test_a_test_of_a_postgresql_fault_runs_on_postgresql_only(
    request: pytest.FixtureRequest, start_bot: BotStarter, backend: Backend
) -> None:
    assert request.node.callspec.id == "postgres" and backend.postgres
    assert isinstance((await start_bot()).db, PostgresDatabase)
