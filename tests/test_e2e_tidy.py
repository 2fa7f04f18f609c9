"""A tidy channel: each job leaves one message, and what it left goes when it is deleted."""

from __future__ import annotations

import asyncio

import pytest

from bot.app.client import EggBot
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.starter import BotStarter
from testkit.world import World, add_tiny_uploads

pytestmark = pytest.mark.usefixtures("on_each_backend")


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


async def test_a_failure_is_one_message(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    eggapi.plan_next(TaskPlan(outcome="failed", error="CUDA OOM at node 7"))
    await start_bot()
    status = await (await world.fake.slash(world.alice, world.general, "imagine", prompt="a lost fox")).wait_response()
    told = await world.fake.wait_for(
        lambda f: f.message(status.id) if "not made" in f.message(status.id).content else None
    )
    assert world.alice.mention in told.content and told.buttons == []
    assert channel_messages(world) == [told]  # the status message says so; nothing else is posted
    assert_clean(world.fake)


async def test_a_failure_whose_status_message_cannot_be_edited_is_posted(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    eggapi.default_plan = TaskPlan(hold=True)
    await start_bot()
    status = await (await fake.slash(world.alice, world.general, "imagine", prompt="a lost fox")).wait_response()
    [egg_id] = await fake.wait_for(lambda f: list(eggapi.tasks) or None)
    fake.fail_next("PATCH", r"/messages/@original$", 404, {"code": 10008, "message": "Unknown Message"})
    fake.fail_next("PATCH", rf"^/channels/{world.general.id}/messages/{status.id}$", 404, {"code": 10008})
    eggapi.finish(egg_id, outcome="failed", error="CUDA OOM at node 7")
    notice = await fake.wait_for_message(world.general, lambda m: m.id != status.id and "not made" in m.content)
    assert world.alice.mention in notice.content and notice.content.startswith(world.alice.mention)
    assert "not made" not in fake.message(status.id).content
    assert_clean(fake)


async def test_delete_leaves_the_channel_empty(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    """A split result and a status message still there (its removal failed): Delete takes them all."""
    fake = world.fake
    eggapi.file_padding = 300  # each image about 400 B: one image per message in Tiny Uploads
    tiny = add_tiny_uploads(fake, 600)
    bot = await start_bot()
    fake.fail_next("DELETE", r"/messages/@original$", 403)
    fake.fail_next("DELETE", rf"^/channels/{tiny.channel.id}/messages/\d+$", 503)
    status = await (await fake.slash(tiny.member, tiny.channel, "imagine", prompt="tiny fox", count=3)).wait_response()
    await fake.wait_for(lambda f: any(r.method == "DELETE" and r.status == 503 for r in f.requests) or None)
    posts = [m for m in fake.messages(tiny.channel) if m.attachments]
    assert len(posts) == 3 and not fake.message(status.id).deleted
    first = next(m for m in posts if m.buttons)
    await (await fake.click(tiny.member, first, first.button("Delete").custom_id)).wait_ack()
    await fake.wait_for(lambda f: not [m for m in f.messages(tiny.channel) if not m.ephemeral] or None)
    assert await status_forgotten(bot, 1)
    assert_clean(fake)


async def test_each_member_deletes_their_own_part_of_a_shared_post(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    eggapi.default_plan = TaskPlan(hold=True)
    fake.enable_rate_limit(limit=1, per=1.0)  # busy enough that results merge
    bot = await start_bot(EGGBOT_MAX_RUNNING_TOTAL="50")
    people = [fake.add_member(world.guild, f"artist{i}") for i in range(6)]
    await fake.settle()
    for person in people:
        await (await fake.slash(person, world.general, "imagine", prompt=f"portrait by {person.username}")).wait_ack()
    await fake.wait_for(lambda f: len(eggapi.tasks) == 6 or None)
    for egg_id in list(eggapi.tasks):
        eggapi.finish(egg_id)
    await fake.wait_for(lambda f: sum(len(m.attachments) for m in channel_messages(world)) == 6 or None, timeout=20)
    shared = next(m for m in channel_messages(world) if len(m.attachments) > 1)
    owners = {}
    for attachment in shared.attachments:
        task = await bot.task_store.get(int(attachment.filename.split("-")[1]))
        assert task is not None
        owners[task.id] = next(p for p in people if p.id == task.member_id)
    rerolls = [b for b in shared.buttons if (b.custom_id or "").startswith("egg:reroll:")]
    assert [b.label for b in rerolls] == [f"portrait by {owners[t].username}" for t in owners]  # not "#N"
    [first, *others] = owners

    def delete_of(task_id: int) -> str:
        return f"egg:delpart:{task_id}"

    refused = await fake.click(owners[others[0]], shared, delete_of(first))  # not theirs to delete
    assert "Only the member" in (await refused.wait_response()).content
    await (await fake.click(owners[first], shared, delete_of(first))).wait_ack()
    edited = await fake.wait_for(
        lambda f: f.message(shared.id) if len(f.message(shared.id).attachments) == len(others) else None
    )
    assert owners[first].mention not in edited.content and f"portrait by {owners[first].username}" not in edited.content
    assert all(owners[t].mention in edited.content for t in others)
    assert all(not (b.custom_id or "").endswith(f":{first}") for b in edited.buttons)
    for task_id in others:
        await (await fake.click(owners[task_id], fake.message(shared.id), delete_of(task_id))).wait_ack()
    await fake.wait_for(lambda f: f.message(shared.id).deleted or None)
    assert_clean(fake)
