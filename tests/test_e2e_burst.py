"""A busy channel: results that finish together share messages, posted once even across a crash."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.lifecycle.model import TaskStatus
from testkit.backends import Backend
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.starter import BotStarter, any_db
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")


def results(world: World) -> list[FakeMessage]:
    return [m for m in world.fake.messages(world.general) if m.attachments]


async def burst(world: World, eggapi: FakeEggAPI, members: int) -> list[Any]:
    """``members`` members each ask for one image; all their jobs finish at the same moment."""
    fake = world.fake
    people = [fake.add_member(world.guild, f"artist{i}") for i in range(members)]
    await fake.settle()
    for person in people:
        await (await fake.slash(person, world.general, "imagine", prompt=f"portrait by {person.username}")).wait_ack()
    await fake.wait_for(lambda f: len(eggapi.tasks) == members or None)
    for egg_id in list(eggapi.tasks):
        eggapi.finish(egg_id)
    await fake.wait_for(lambda f: sum(len(m.attachments) for m in results(world)) == members or None, timeout=20)
    return people


async def test_twenty_results_at_once_share_messages_within_the_rate_limit(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.default_plan = TaskPlan(hold=True)
    world.fake.enable_rate_limit(limit=5, per=5.0)  # Discord's per-channel message limit
    await start_bot(EGGBOT_MAX_RUNNING_TOTAL="50")
    people = await burst(world, eggapi, 20)
    posted = results(world)
    assert len(posted) <= 5  # within one bucket: never had to wait for it to refill
    images = [a.data for m in posted for a in m.attachments]
    assert sorted(images) == sorted(png_bytes(egg_id, 0) for egg_id in eggapi.tasks)  # each once
    for person in people:
        [carrier] = [m for m in posted if person.mention in m.content]
        assert f"portrait by {person.username}" in carrier.content
    assert all(len(m.attachments) <= 10 for m in posted)
    assert not any(r.status == 429 for r in world.fake.requests)
    assert_clean(world.fake)


async def test_a_merged_post_is_not_repeated_after_a_crash(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend
) -> None:
    eggapi.default_plan = TaskPlan(hold=True)
    world.fake.enable_rate_limit(limit=1, per=1.0)  # busy enough that results merge
    bot = await start_bot(EGGBOT_MAX_RUNNING_TOTAL="50")
    await burst(world, eggapi, 6)
    before = [(m.id, len(m.attachments)) for m in results(world)]
    merged = [m for m in results(world) if len(m.attachments) > 1]
    assert merged, "the burst should have produced a merged message"
    await start_bot.stop()
    # The crash: Discord took the merged post, the bot recorded nothing (or only part of it).
    async with await backend.open() as db:
        await db.transaction(
            lambda tx: tx.execute(
                "UPDATE tasks SET status = 'delivering', result_message_ids = '[]' "
                "WHERE delivery_nonce IN (SELECT delivery_nonce FROM tasks GROUP BY delivery_nonce HAVING COUNT(*) > 1)"
            )
        )
    delivered = asyncio.Event()
    bot = await start_bot()
    bot.task_store.add_listener(lambda _t, new: delivered.set() if new is TaskStatus.DELIVERED else None)
    while True:
        delivered.clear()
        pending = await any_db(bot).fetchone("SELECT COUNT(*) AS n FROM tasks WHERE status != 'delivered'")
        assert pending is not None
        if pending["n"] == 0:
            break
        await asyncio.wait_for(delivered.wait(), 10)
    rows = await any_db(bot).fetchall("SELECT status, result_message_ids FROM tasks")
    assert {r["status"] for r in rows} == {"delivered"}
    assert [(m.id, len(m.attachments)) for m in results(world)] == before  # nothing posted twice
    assert_clean(world.fake)


async def test_one_members_merged_results_mention_them_once(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    eggapi.default_plan = TaskPlan(hold=True)
    fake.enable_rate_limit(limit=1, per=1.0)  # busy enough that results merge
    await start_bot()
    for n in range(3):
        await (await fake.slash(world.alice, world.general, "imagine", prompt=f"fox {n}")).wait_ack()
    await fake.wait_for(lambda f: len(eggapi.tasks) == 3 or None)
    for egg_id in list(eggapi.tasks):
        eggapi.finish(egg_id)
    await fake.wait_for(lambda f: sum(len(m.attachments) for m in results(world)) == 3 or None, timeout=20)
    merged = [m for m in results(world) if len(m.attachments) > 1]
    assert merged, "the results should have been merged"
    for message in merged:
        assert message.allowed_mentions is not None
        assert [str(u) for u in message.allowed_mentions["users"]] == [str(world.alice.id)]  # unique, per the spec
        assert message.mentions == [world.alice.id]
    assert_clean(fake)
