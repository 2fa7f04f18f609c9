"""SIGKILL at each stage of a task's life, then a restart: every task is delivered exactly once
and the ledger is right. The bot runs as a real process (``python -m bot``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from testkit.backends import Backend
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.processes import BotProcess
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")


def posted(world: World) -> list[FakeMessage]:
    return [m for m in world.fake.messages(world.general) if m.attachments]


async def ledger_rows(backend: Backend) -> list[tuple[str, str | None]]:
    """The holds as stored (the amount as its text: SQLite keeps TEXT, PostgreSQL a NUMERIC of that scale)."""
    async with await backend.open() as db:
        rows = await db.fetchall("SELECT state, settled FROM ledger_holds ORDER BY task_id")
    return [(row["state"], None if row["settled"] is None else str(row["settled"])) for row in rows]


async def finish_and_expect_one_post(
    world: World, eggapi: FakeEggAPI, bot_process: BotProcess, backend: Backend, *, resumed: bool = True
) -> None:
    """Restart, let EggAPI finish, and check the single post and the settled ledger."""
    await bot_process.start()
    for task in list(eggapi.tasks.values()):
        if task.status not in ("completed", "failed"):
            eggapi.finish(task.id)
    message = await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=20)
    await world.fake.wait_for(lambda f: len(f.messages(world.general)) == 1 or None, timeout=20)  # one message
    [egg_id] = list(eggapi.tasks)
    assert [a.data for a in message.attachments] == [png_bytes(egg_id, 0)]
    assert len(posted(world)) == 1
    assert eggapi.count("POST", "/v1/generate") == 1
    assert await ledger_rows(backend) == [("settled", "0.0100")]
    assert ("resuming 1 unfinished task" in bot_process.output()) is resumed
    assert_clean(world.fake)


async def test_killed_while_queued(backend: Backend, world: World, eggapi: FakeEggAPI, bot_process: BotProcess) -> None:
    eggapi.delay_next("POST", r"^/v1/generate$", 60)  # nothing returns from the submit...
    await bot_process.start()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="crash test")
    await eggapi.wait_for_request(lambda r: r.method == "POST", timeout=10)  # ...the POST is in flight
    await bot_process.kill()
    assert eggapi.count("POST", "/v1/generate") == 1
    await finish_and_expect_one_post(world, eggapi, bot_process, backend)  # reconciled, never re-posted


async def test_killed_while_running(
    backend: Backend, world: World, eggapi: FakeEggAPI, bot_process: BotProcess
) -> None:
    eggapi.default_plan = TaskPlan(hold=True)
    await bot_process.start()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="crash test")
    [egg_id] = await world.fake.wait_for(lambda f: list(eggapi.tasks) or None)
    await eggapi.wait_for_task_status(egg_id, "processing", timeout=10)  # the bot reads it: it is followed
    await bot_process.kill()
    await finish_and_expect_one_post(world, eggapi, bot_process, backend)


async def test_killed_while_posting(
    backend: Backend, world: World, eggapi: FakeEggAPI, bot_process: BotProcess
) -> None:
    # Discord takes the post but the answer never reaches the bot_process: the crash between posting and
    # recording the message id. The nonce turns the repeat after the restart into a no-op.
    world.fake.answer_late("POST", r"^/channels/\d+/messages$", 2)  # the kill comes well before
    await bot_process.start()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="crash test")
    await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=20)
    await bot_process.kill()
    await finish_and_expect_one_post(world, eggapi, bot_process, backend)


async def test_killed_after_delivery(
    backend: Backend, world: World, eggapi: FakeEggAPI, bot_process: BotProcess
) -> None:
    await bot_process.start()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="crash test")
    await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=20)
    await world.fake.wait_for(lambda f: len(f.messages(world.general)) == 1 or None, timeout=20)
    await bot_process.kill()
    await finish_and_expect_one_post(world, eggapi, bot_process, backend, resumed=False)
    assert Decimal("0.0100") == sum(Decimal(s or "0") for _, s in await ledger_rows(backend))
