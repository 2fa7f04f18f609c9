"""Images from the file host that must be shrunk to fit, end to end: hostile ones become links."""

from __future__ import annotations

import asyncio

from bot.lifecycle.model import TaskStatus
from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter
from testkit.world import World, add_tiny_uploads


async def test_a_decompression_bomb_is_posted_as_a_link_not_lost(
    eggapi: FakeEggAPI, start_bot: BotStarter, world: World
) -> None:
    fake = world.fake
    tiny = add_tiny_uploads(fake, filesize_limit=1000)
    channel, member = tiny.channel, tiny.member
    eggapi.file_padding = 3000  # too big to attach: the bot must shrink it, so it would decode it
    eggapi.file_declared_side = 20000  # 400 MP declared over a few bytes of pixels
    bot = await start_bot()
    delivered = asyncio.Event()
    bot.task_store.add_listener(lambda _t, new: delivered.set() if new is TaskStatus.DELIVERED else None)
    await fake.slash(member, channel, "imagine", prompt="an innocent fox")
    posted = await fake.wait_for_message(channel, lambda m: "Too large to attach" in m.content, timeout=10)
    [egg_id] = list(eggapi.tasks)
    assert posted.attachments == []
    assert f"<{eggapi.tasks[egg_id].output_urls[0]}>" in posted.content
    await asyncio.wait_for(delivered.wait(), 10)
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.status is TaskStatus.DELIVERED
    assert_clean(fake)
