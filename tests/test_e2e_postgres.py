"""The real bot on PostgreSQL (DATABASE_URL): delivered, refused, resumed after a restart, never overdrawn."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest

from bot.lifecycle.model import TaskStatus
from bot.storage.postgres import PostgresDatabase
from testkit.backends import Backend
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.postgres import PASSWORD
from testkit.starter import BotStarter, any_db
from testkit.world import World


def is_result(message: FakeMessage) -> bool:
    return bool(message.attachments) and not message.ephemeral


async def test_imagine_is_delivered_and_settled_on_postgresql(
    world: World, eggapi: FakeEggAPI, postgres: Backend, start_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await start_bot(DATABASE_URL=await postgres.url())
    assert isinstance(bot.db, PostgresDatabase)
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="a red fox in snow")
    status = await handle.wait_response()
    assert not status.ephemeral and "a red fox in snow" in status.content
    result = await world.fake.wait_for_message(world.general, is_result)
    [egg_id] = list(eggapi.tasks)
    assert world.alice.mention in result.content and "`1 image · 16:9 · $0.01`" in result.content
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    await world.fake.wait_for(lambda f: f.message(status.id).deleted or None)
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.status is TaskStatus.DELIVERED and task.result_message_ids == (result.id,)
    hold = await bot.ledger.hold(task.id)
    assert hold is not None and hold.settled == Decimal("0.0100")
    reply = await (await world.fake.slash(world.alice, world.general, "balance")).wait_response()
    assert "$0.01" in reply.content
    assert PASSWORD not in caplog.text
    assert_clean(world.fake, caplog=caplog)


async def test_a_request_over_the_limit_is_refused_and_leaves_nothing_on_postgresql(
    world: World, eggapi: FakeEggAPI, postgres: Backend, start_bot: BotStarter
) -> None:
    bot = await start_bot(EGGBOT_QUOTA_LIMIT="0.02", DATABASE_URL=await postgres.url())
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="three foxes", count=3)
    reply = await handle.wait_response()
    assert reply.ephemeral and "This request needs $0.03, but you have only $0.02 left" in reply.content
    assert eggapi.count("POST", "/v1/generate") == 0
    row = await any_db(bot).fetchone("SELECT COUNT(*) AS n FROM tasks")
    assert row is not None and row["n"] == 0
    assert_clean(world.fake)


async def test_a_restart_resumes_a_running_task_without_resubmitting_on_postgresql(
    world: World, eggapi: FakeEggAPI, postgres: Backend, start_bot: BotStarter
) -> None:
    url = await postgres.url()
    eggapi.plan_next(TaskPlan(hold=True))
    await start_bot(DATABASE_URL=url)
    await world.fake.slash(world.alice, world.general, "imagine", prompt="patient fox")
    [egg_id] = await world.fake.wait_for(lambda f: list(eggapi.tasks) or None)
    await start_bot.stop()
    eggapi.finish(egg_id)
    bot = await start_bot(DATABASE_URL=url)
    delivered = asyncio.Event()
    bot.task_store.add_listener(lambda _, new: delivered.set() if new is TaskStatus.DELIVERED else None)
    result = await world.fake.wait_for_message(world.general, is_result)
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    assert eggapi.count("POST", "/v1/generate") == 1
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None
    if task.status is not TaskStatus.DELIVERED:  # posted; the record of it may land a moment later
        async with asyncio.timeout(10):
            await delivered.wait()
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.status is TaskStatus.DELIVERED
    assert len([m for m in world.fake.messages(world.general) if m.attachments]) == 1
    assert_clean(world.fake)


async def test_concurrent_requests_at_the_edge_never_overdraw_on_postgresql(
    world: World, eggapi: FakeEggAPI, postgres: Backend, start_bot: BotStarter
) -> None:
    """40 simultaneous /imagine at the edge of a $0.15 limit: exactly 15 run, and each is settled once."""
    bot = await start_bot(
        EGGBOT_QUOTA_LIMIT="0.15", EGGBOT_MAX_QUEUED_PER_MEMBER="100", DATABASE_URL=await postgres.url()
    )
    delivered: set[int] = set()
    all_delivered = asyncio.Event()

    def note(task_id: int, new: TaskStatus) -> None:
        if new is TaskStatus.DELIVERED:
            delivered.add(task_id)
            if len(delivered) == 15:
                all_delivered.set()

    bot.task_store.add_listener(note)
    handles = await asyncio.gather(
        *(world.fake.slash(world.alice, world.general, "imagine", prompt=f"fox {i}") for i in range(40))
    )
    replies = await asyncio.gather(*(h.wait_response(timeout=20) for h in handles))
    accepted = [r for r in replies if not r.ephemeral]
    refused = [r for r in replies if r.ephemeral]
    assert (len(accepted), len(refused)) == (15, 25)
    assert all("daily image budget" in r.content for r in refused)
    async with asyncio.timeout(30):
        await all_delivered.wait()
    assert sum(len(m.attachments) for m in world.fake.messages(world.general)) == 15
    assert len(eggapi.tasks) == 15
    rows = await any_db(bot).fetchall("SELECT state, settled FROM ledger_holds")
    assert sorted(r["state"] for r in rows) == ["settled"] * 15
    assert sum(r["settled"] for r in rows) == Decimal("0.15")
    assert_clean(world.fake)
