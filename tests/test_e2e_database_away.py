"""The database is the one shared point: while PostgreSQL refuses the bot, nothing is lost or charged twice.

The server stops accepting the bot's connections (its sessions are ended, new ones refused) while a
job runs upstream. A member who asks meanwhile is told plainly that the bot cannot reach its
database (the operator reads one WARNING line, no traceback), and nothing of theirs is recorded or
sent to EggAPI; once the database is back, the running job's images are posted once and the
member's next request goes through.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.lifecycle.model import TaskStatus
from testkit.backends import Backend
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.starter import BotStarter, any_db
from testkit.world import World

pytestmark = pytest.mark.timeout(120)


def is_result(message: FakeMessage) -> bool:
    return bool(message.attachments) and not message.ephemeral


async def test_while_the_database_is_away_members_are_told_and_nothing_is_lost(
    world: World, eggapi: FakeEggAPI, postgres: Backend, start_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    url = await postgres.url()
    name = url.rsplit("/", 1)[-1]
    server = postgres.server
    assert server is not None

    async def reachable(on: bool) -> None:
        await server.admin(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {'true' if on else 'false'}")
        if not on:
            await server.admin(f"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{name}'")

    caplog.set_level(logging.INFO)
    eggapi.plan_next(TaskPlan(hold=True))
    bot = await start_bot(DATABASE_URL=url)
    delivered = asyncio.Event()
    bot.task_store.add_listener(lambda _, new: delivered.set() if new is TaskStatus.DELIVERED else None)
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a fox before the outage")
    [running] = await world.fake.wait_for(lambda f: list(eggapi.tasks) or None)

    await reachable(False)
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="a fox during the outage")
    reply = await handle.wait_response()
    assert reply.ephemeral and reply.content == (
        "I can't reach my database right now, so I can't take this. Please try again in a minute."
    )
    [logged] = [r for r in caplog.records if r.name == "bot.app.replies"]
    assert logged.levelno == logging.WARNING and "the database is away" in logged.getMessage()
    assert logged.exc_info is None  # one line for the operator, not a traceback per member
    eggapi.finish(running)  # finished upstream while the bot cannot record it
    assert eggapi.count("POST", "/v1/generate") == 1  # the outage's request never reached EggAPI

    await reachable(True)
    result = await world.fake.wait_for_message(world.general, is_result)
    assert [a.data for a in result.attachments] == [png_bytes(running, 0)]
    async with asyncio.timeout(60):
        await delivered.wait()
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="a fox after the outage")
    status = await handle.wait_response()
    assert not status.ephemeral and "a fox after the outage" in status.content
    second = await world.fake.wait_for_message(world.general, lambda m: is_result(m) and m.id != result.id)
    assert eggapi.count("POST", "/v1/generate") == 2
    assert [m.id for m in world.fake.messages(world.general) if is_result(m)] == [result.id, second.id]
    rows = await any_db(bot).fetchall("SELECT prompt FROM tasks ORDER BY id")
    assert [row["prompt"] for row in rows] == ["a fox before the outage", "a fox after the outage"]
    assert_clean(world.fake)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
