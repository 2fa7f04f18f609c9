"""Fair queueing, cancel and hide, upload limits, lost channels and stuck tasks, end to end."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from bot.app.client import EggBot
from bot.lifecycle.model import TaskStatus
from testkit.fake_discord import FakeDiscord, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.starter import BotStarter
from testkit.world import World, add_tiny_uploads

pytestmark = pytest.mark.usefixtures("on_each_backend")


def has_images(message: FakeMessage) -> bool:
    return bool(message.attachments)


def reached(bot: EggBot, status: TaskStatus) -> asyncio.Event:
    """An event set when any task reaches ``status``."""
    event = asyncio.Event()
    bot.task_store.add_listener(lambda _task_id, new: event.set() if new is status else None)
    return event


async def test_ten_members_are_served_before_a_flooder_runs_ahead(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    eggapi.default_plan = TaskPlan(hold=True)
    members = [fake.add_member(world.guild, f"member{i}") for i in range(10)]
    await fake.settle()
    await start_bot(EGGBOT_MAX_RUNNING_TOTAL="2")
    for n in range(5):  # the flooder asks first
        await (await fake.slash(world.alice, world.general, "imagine", prompt=f"flood {n}")).wait_ack()
    for member in members:
        await (await fake.slash(member, world.general, "imagine", prompt=f"from {member.username}")).wait_ack()
    # Finish the oldest running task, one at a time, and watch who EggAPI hears from next.
    for submitted in range(2, 16):

        def enough(f: FakeDiscord, n: int = submitted) -> bool | None:
            return len(eggapi.tasks) >= n or None

        await fake.wait_for(enough)
        oldest = next(t for t in eggapi.tasks.values() if t.status not in ("completed", "failed"))
        eggapi.finish(oldest.id)
    order = [t.request["prompt"] for t in eggapi.tasks.values()]
    assert order[:3] == ["flood 0", "flood 1", "flood 2"]
    assert order[3:13] == [f"from member{i}" for i in range(10)]  # every member before the flooder's 4th
    assert order[13:] == ["flood 3", "flood 4"]
    assert_clean(fake)


async def test_queue_position_cancel_and_queue_full(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    fake = world.fake
    eggapi.default_plan = TaskPlan(hold=True)
    bot = await start_bot(EGGBOT_MAX_RUNNING_TOTAL="1", EGGBOT_MAX_QUEUED_PER_MEMBER="2")
    await (await fake.slash(world.alice, world.general, "imagine", prompt="running")).wait_response()
    first = await (await fake.slash(world.bob, world.general, "imagine", prompt="waiting one")).wait_response()
    second = await (await fake.slash(world.bob, world.general, "imagine", prompt="waiting two")).wait_response()
    full = await (await fake.slash(world.bob, world.general, "imagine", prompt="one too many")).wait_response()
    assert full.ephemeral and "2 jobs waiting" in full.content
    await fake.wait_for(lambda f: "#2 in line" in f.message(second.id).content or None)
    assert "#1 in line" in fake.message(first.id).content

    refused = await fake.click(world.alice, first, first.button("Cancel").custom_id)
    assert "Only the member" in (await refused.wait_response()).content
    click = await fake.click(world.bob, first, first.button("Cancel").custom_id)
    await click.wait_ack()
    cancelled = await fake.wait_for(
        lambda f: f.message(first.id) if "Cancelled" in f.message(first.id).content else None
    )
    assert cancelled.buttons == []
    await fake.wait_for(lambda f: "#1 in line" in f.message(second.id).content or None)
    task_id = int(first.content.split("job #")[1].split(" ")[0])
    hold = await bot.ledger.hold(task_id)
    assert hold is not None and hold.state == "released"
    assert len(eggapi.tasks) == 1  # the cancelled job never reached EggAPI
    assert_clean(fake)


async def test_hidden_job_is_delivered_by_dm_and_still_charged(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    eggapi.default_plan = TaskPlan(hold=True)
    bot = await start_bot()
    status = await (await fake.slash(world.alice, world.general, "imagine", prompt="secret fox")).wait_response()
    [egg_id] = await fake.wait_for(lambda f: list(eggapi.tasks) or None)
    await fake.wait_for(lambda f: f.message(status.id).button("Hide") if f.message(status.id).buttons else None)
    click = await fake.click(world.alice, status, fake.message(status.id).button("Hide").custom_id)
    hidden = (await click.wait_response()).content
    assert "direct message" in hidden and "I'll post them here instead" in hidden and "real cost" not in hidden
    await fake.wait_for(lambda f: f.message(status.id).deleted)
    eggapi.finish(egg_id)
    dm = fake.dm_channel_for(world.alice)
    private = await fake.wait_for_message(dm, has_images)
    assert "secret fox" in private.content
    assert not [m for m in fake.messages(world.general) if m.attachments]
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.hidden
    hold = await bot.ledger.hold(task.id)
    assert hold is not None and hold.state == "settled"
    assert_clean(fake)


async def test_oversize_image_is_delivered_within_the_upload_limit(
    eggapi: FakeEggAPI, start_bot: BotStarter, world: World
) -> None:
    fake = world.fake
    tiny = add_tiny_uploads(fake, filesize_limit=50_000)
    channel, member = tiny.channel, tiny.member
    eggapi.file_padding = 120_000  # every image is a 120 kB PNG
    await start_bot()
    await fake.slash(member, channel, "imagine", prompt="big fox", count=2)
    posted = await fake.wait_for_message(channel, has_images)
    assert len(posted.attachments) == 2
    for attachment in posted.attachments:
        assert attachment.size <= 50_000
        with Image.open(io.BytesIO(attachment.data)) as image:
            assert image.format == "JPEG"
    assert sum(a.size for a in posted.attachments) <= 50_000
    assert_clean(fake)


async def test_deleted_channel_sends_the_images_by_dm(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    fake = world.fake
    eggapi.default_plan = TaskPlan(hold=True)
    bot = await start_bot()
    delivered = reached(bot, TaskStatus.DELIVERED)
    await fake.slash(world.alice, world.general, "imagine", prompt="orphan fox")
    [egg_id] = await fake.wait_for(lambda f: list(eggapi.tasks) or None)
    fake.delete_channel(world.general)
    eggapi.finish(egg_id)
    private = await fake.wait_for_message(fake.dm_channel_for(world.alice), has_images)
    assert "orphan fox" in private.content and "no longer exists" in private.content
    assert [a.data for a in private.attachments] == [png_bytes(egg_id, 0)]  # the images she paid for
    await asyncio.wait_for(delivered.wait(), 10)
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.status is TaskStatus.DELIVERED and task.result_message_ids == (private.id,)
    hold = await bot.ledger.hold(task.id)
    assert hold is not None and hold.state == "settled"
    assert len(fake.messages(fake.dm_channel_for(world.alice))) == 1  # the images, not a failure notice too
    assert_clean(fake)


async def test_hidden_job_with_closed_dms_is_posted_in_the_channel(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    eggapi.default_plan = TaskPlan(hold=True)
    fake.block_dms(world.alice)
    bot = await start_bot()
    delivered = reached(bot, TaskStatus.DELIVERED)
    status = await (await fake.slash(world.alice, world.general, "imagine", prompt="secret fox")).wait_response()
    [egg_id] = await fake.wait_for(lambda f: list(eggapi.tasks) or None)
    await fake.wait_for(lambda f: f.message(status.id).button("Hide") if f.message(status.id).buttons else None)
    await (await fake.click(world.alice, status, fake.message(status.id).button("Hide").custom_id)).wait_response()
    await fake.wait_for(lambda f: f.message(status.id).deleted)
    eggapi.finish(egg_id)
    post = await fake.wait_for_message(world.general, has_images)
    assert "secret fox" in post.content and "direct message" in post.content
    assert post.mentions == [world.alice.id]  # she is pinged where her images are
    assert [a.data for a in post.attachments] == [png_bytes(egg_id, 0)]
    assert post.button("Delete") is not None  # she can still remove them from the channel
    await asyncio.wait_for(delivered.wait(), 10)
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.status is TaskStatus.DELIVERED and task.result_message_ids == (post.id,)
    assert_clean(fake)


async def test_missing_permission_ends_undeliverable_with_a_clear_outcome(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    eggapi.default_plan = TaskPlan(hold=True)
    fake.block_dms(world.alice)  # and the member cannot be reached privately either
    bot = await start_bot()
    ended = reached(bot, TaskStatus.UNDELIVERABLE)
    await fake.slash(world.alice, world.general, "imagine", prompt="forbidden post")
    [egg_id] = await fake.wait_for(lambda f: list(eggapi.tasks) or None)
    fake.deny_bot(world.general, "SEND_MESSAGES")
    await fake.settle()
    eggapi.finish(egg_id)
    await asyncio.wait_for(ended.wait(), 10)
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.status is TaskStatus.UNDELIVERABLE
    assert task.error is not None and "permission" in task.error
    assert not [m for m in fake.messages(world.general) if m.attachments]
    assert fake.messages(fake.dm_channel_for(world.alice)) == []
    assert_clean(fake)


async def test_stuck_task_is_marked_stale_and_still_delivered(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    eggapi.default_plan = TaskPlan(hold=True, polls_until_processing=1)
    await start_bot(EGGBOT_TASK_DEADLINE="0.1", EGGBOT_STALE_AFTER="0.3")
    status = await (await fake.slash(world.alice, world.general, "imagine", prompt="stuck fox")).wait_response()
    [egg_id] = await fake.wait_for(lambda f: list(eggapi.tasks) or None)
    notice = await fake.wait_for_message(world.general, lambda m: "is stuck" in m.content)
    assert notice.content == (
        f"{world.alice.mention} job #1 (**stuck fox**) is stuck on the image service's side. I'm still checking "
        "and will post the image here if it finishes; there's nothing you need to do."
    )
    stuck = await fake.wait_for(lambda f: ("Stuck" in f.message(status.id).content and f.message(status.id)) or None)
    assert stuck.content.startswith("🕸️ **Stuck at the image service** · job #1")
    assert stuck.content.endswith(
        "I'm still checking and will post the image here if it finishes; there's nothing you need to do."
    )
    for message in fake.messages(world.general):  # the upstream's id and name are for the logs, not members
        assert egg_id not in message.content and "EggAPI" not in message.content
    eggapi.finish(egg_id)
    await fake.wait_for_message(world.general, has_images)
    notices = [m for m in fake.messages(world.general) if "is stuck" in m.content]
    assert len(notices) == 1  # told once, not at every poll
    assert_clean(fake)


async def test_discord_429_and_gateway_reconnect_never_drop_a_delivery(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    eggapi.default_plan = TaskPlan(hold=True)
    await start_bot()
    await fake.slash(world.alice, world.general, "imagine", prompt="through the storm")
    [egg_id] = await fake.wait_for(lambda f: list(eggapi.tasks) or None)
    await fake.close_gateway(4000)  # the gateway drops mid-job
    await fake.wait_for_resume()
    fake.enable_rate_limit(limit=5, per=1.0)  # Discord's shape, a shorter window to keep the test quick
    fake.exhaust_rate_limit(world.general)  # other traffic used up the channel's bucket
    eggapi.finish(egg_id)
    posted = await fake.wait_for_message(world.general, has_images, timeout=15)
    assert any(r.status == 429 for r in fake.requests if r.path.endswith("/messages") and r.method == "POST")
    assert len([m for m in fake.messages(world.general) if m.attachments]) == 1
    assert "through the storm" in posted.content
    # Commands still work after the resume.
    await fake.slash(world.bob, world.general, "imagine", prompt="after the storm")
    eggapi.finish(await fake.wait_for(lambda f: next((t for t in eggapi.tasks if t != egg_id), None)))
    await fake.wait_for_message(world.general, lambda m: has_images(m) and "after the storm" in m.content, timeout=15)
    assert_clean(fake)
