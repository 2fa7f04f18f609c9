"""A tidy channel: each job leaves one message, and what it left goes when it is deleted."""

from __future__ import annotations

import asyncio

from bot.app.client import EggBot
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, png_bytes
from testkit.starter import BotStarter
from testkit.world import World


def channel_messages(world: World) -> list[FakeMessage]:
    """What a member sees in #general (ephemeral answers are only for whoever clicked)."""
    return [m for m in world.fake.messages(world.general) if not m.ephemeral]


async def status_forgotten(bot: EggBot, task_id: int) -> bool:
    """Whether the task's record says its status message is gone (within a few seconds)."""
    for _ in range(100):
        task = await bot.task_store.get(task_id)
        if task is not None and task.status_message_id is None:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_eight_jobs_leave_eight_messages(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    fake = world.fake
    await start_bot()
    for n in range(8):
        await (await fake.slash(world.alice, world.general, "imagine", prompt=f"fox number {n}")).wait_ack()
    await fake.wait_for(lambda f: sum(len(m.attachments) for m in channel_messages(world)) == 8 or None, timeout=30)
    await fake.wait_for(lambda f: all(m.attachments for m in channel_messages(world)) or None, timeout=20)
    posted = channel_messages(world)
    assert len(posted) <= 8  # the results only (a busy channel may merge some); no status message stays
    images = sorted(a.data for m in posted for a in m.attachments)
    assert images == sorted(png_bytes(egg_id, 0) for egg_id in eggapi.tasks)
    assert not any("Posted:" in m.content for m in posted)
    assert_clean(fake)


async def test_a_restart_after_delivery_removes_a_leftover_status_message(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    bot = await start_bot()
    fake.fail_next("DELETE", r"/messages/@original$", 403)  # the removal fails both ways ...
    fake.fail_next("DELETE", rf"^/channels/{world.general.id}/messages/\d+$", 503)
    status = await (await fake.slash(world.alice, world.general, "imagine", prompt="a stubborn fox")).wait_response()
    result = await fake.wait_for_message(world.general, lambda m: bool(m.attachments))
    await fake.wait_for(lambda f: any(r.method == "DELETE" and r.status == 503 for r in f.requests) or None)
    await asyncio.sleep(0.2)
    task = await bot.task_store.get(1)
    assert task is not None and task.status_message_id == status.id  # ... so it is still recorded as there
    assert not fake.message(status.id).deleted
    await start_bot.stop()

    bot = await start_bot()  # ... and the next start removes it
    await fake.wait_for(lambda f: f.message(status.id).deleted or None, timeout=10)
    assert channel_messages(world) == [result]
    assert await status_forgotten(bot, 1)
    assert_clean(fake)
