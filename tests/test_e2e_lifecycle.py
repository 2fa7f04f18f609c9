"""A task's life across restarts, unknown submits, command sync and status edits on phase changes."""

from __future__ import annotations

import asyncio

import pytest

from bot.app.client import EggBot
from bot.ledger import HoldState, Ledger
from bot.lifecycle.intake import JobService
from bot.lifecycle.model import ImagineRequest, TaskRecord, TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper
from testkit.backends import Backend
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.starter import BotStarter, any_db
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")


def results(world: World) -> list[FakeMessage]:
    return [m for m in world.fake.messages(world.general) if m.attachments]


def watch(bot: EggBot, task_id: int, status: TaskStatus) -> asyncio.Event:
    """An event set when the task reaches ``status`` (subscribe before starting the work)."""
    reached = asyncio.Event()
    bot.task_store.add_listener(lambda tid, new: reached.set() if (tid, new) == (task_id, status) else None)
    return reached


async def recorded(bot: EggBot, task_id: int, status: TaskStatus) -> TaskRecord:
    """The task once the bot has recorded ``status``: a post is in the channel a moment before its record."""
    reached = watch(bot, task_id, status)  # subscribe, then look: no race either way
    task = await bot.task_store.get(task_id)
    if task is None or task.status is not status:
        await asyncio.wait_for(reached.wait(), 10)
        task = await bot.task_store.get(task_id)
    assert task is not None
    return task


async def test_restart_resumes_a_running_task_without_resubmitting(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.plan_next(TaskPlan(hold=True))
    await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="patient fox")
    [egg_id] = await world.fake.wait_for(lambda f: list(eggapi.tasks) or None)
    await start_bot.stop()
    eggapi.finish(egg_id)
    bot = await start_bot()
    result = await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments))
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    assert eggapi.count("POST", "/v1/generate") == 1
    delivered = watch(bot, 1, TaskStatus.DELIVERED)  # the post is seen before it is recorded: subscribe, then look
    task = await bot.task_store.get_by_egg_id(egg_id)
    if task is None or task.status is not TaskStatus.DELIVERED:
        await asyncio.wait_for(delivered.wait(), 10)
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None
    task = await recorded(bot, task.id, TaskStatus.DELIVERED)
    assert task.egg_task_id == egg_id and task.status is TaskStatus.DELIVERED
    assert len(results(world)) == 1
    assert_clean(world.fake)


async def test_queued_task_left_by_a_crash_is_submitted_once(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend
) -> None:
    bot = await start_bot()
    defaults = bot.ledger.defaults
    await start_bot.stop()
    # What a crash right after the /imagine acknowledgement leaves behind: a queued row and its hold.
    async with await backend.open() as db:
        request = ImagineRequest(
            guild_id=world.guild.id,
            channel_id=world.general.id,
            member_id=world.alice.id,
            prompt="left in the queue",
            count=2,
        )
        store, ledger = TaskStore(db), Ledger(db, defaults)
        task_id = (await JobService(db, store, ledger, Bookkeeper(db, store, ledger)).create(request)).id
    bot = await start_bot()
    result = await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments))
    assert "left in the queue" in result.content and len(result.attachments) == 2
    assert eggapi.count("POST", "/v1/generate") == 1
    hold = await bot.ledger.hold(task_id)
    assert hold is not None and hold.state is HoldState.SETTLED


async def test_unknown_submit_outcome_is_reconciled_not_reposted(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.drop_next("POST", r"^/v1/generate$")  # EggAPI creates the task, the answer is lost
    bot = await start_bot()
    delivered = watch(bot, 1, TaskStatus.DELIVERED)
    await world.fake.slash(world.alice, world.general, "imagine", prompt="lost answer")
    result = await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=15)
    await asyncio.wait_for(delivered.wait(), 10)
    [egg_id] = list(eggapi.tasks)
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    assert eggapi.count("POST", "/v1/generate") == 1  # never re-posted: a second POST bills twice
    assert eggapi.count("GET", "/v1/tasks") >= 1
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.status is TaskStatus.DELIVERED
    assert_clean(world.fake)


async def test_commands_sync_only_when_changed(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    await start_bot()
    assert world.fake.sync_count == 1
    names = sorted(c["name"] for c in world.fake.global_commands)
    assert names == ["balance", "help", "history", "imagine", "mydata", "policy", "quota", "settings", "show", "usage"]
    await start_bot.stop()
    await start_bot()
    assert world.fake.sync_count == 1  # unchanged definition: no sync at start
    await start_bot.stop()
    await start_bot(force_sync=True)
    assert world.fake.sync_count == 2


async def test_dev_guild_sync_is_guild_scoped(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    await start_bot(EGGBOT_DEV_GUILD_ID=str(world.guild.id))
    [(guild_id, body)] = world.fake.sync_log
    assert guild_id == world.guild.id and {c["name"] for c in body} >= {"imagine"}
    await world.fake.slash(world.alice, world.general, "imagine", prompt="guild command")
    await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments))


async def test_status_edits_follow_phases_not_reads(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    eggapi.plan_next(TaskPlan(polls_until_processing=3, polls_until_done=12))
    await start_bot()
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="throttled")
    status = await handle.wait_response()
    await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments))
    await world.fake.wait_for(lambda f: f.message(status.id).deleted or None)
    [egg_id] = list(eggapi.tasks)
    assert eggapi.tasks[egg_id].polls >= 12  # read a dozen times (list pages or GETs)
    # One edit per phase (waiting, generating), not one per read; the result replaces the message.
    assert world.fake.message(status.id).edits <= 2


async def test_commands_are_refused_politely_while_stopping(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    bot = await start_bot()
    bot.stopping = True  # what close() sets first
    reply = await (await world.fake.slash(world.alice, world.general, "imagine", prompt="late")).wait_response()
    assert reply.ephemeral and "restarting" in reply.content
    row = await any_db(bot).fetchone("SELECT COUNT(*) AS n FROM tasks")
    assert row is not None and row["n"] == 0
    bot.stopping = False


@pytest.mark.parametrize("guard", ["nonce", "history"])
async def test_crash_after_posting_does_not_post_twice(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend, guard: str
) -> None:
    """The repeat after a crash between posting and recording finds the first post.

    Two guards: the same Discord nonce (dedupes for a few minutes), and, before that, a look
    through the channel's recent history (covers longer outages). Each is tested alone.
    """
    bot = await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="exactly once", count=2)
    first = await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments))
    [egg_id] = list(eggapi.tasks)
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None
    await start_bot.stop()
    async with await backend.open() as db:  # the crash leaves the task "delivering"
        await db.transaction(
            lambda tx: tx.execute(
                "UPDATE tasks SET status = 'delivering', result_message_ids = '[]' WHERE id = ?", (task.id,)
            )
        )
    if guard == "history":
        world.fake.nonce_window = 0  # the outage outlived Discord's nonce memory
    else:
        world.fake.deny_bot(world.general, "READ_MESSAGE_HISTORY")  # history unreadable: the nonce decides
    bot = await start_bot()
    redone = await recorded(bot, task.id, TaskStatus.DELIVERED)
    assert len(results(world)) == 1
    assert redone.result_message_ids == (first.id,)
    assert_clean(world.fake)
