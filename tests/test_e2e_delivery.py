"""Results split over several messages, and repeats of a post: every image once, the status message gone at the end."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest

from bot.app.client import EggBot
from bot.lifecycle.model import TaskStatus
from testkit.fake_discord import MIB, FakeChannel, FakeDiscord, RequestRecord, assert_clean
from testkit.fake_eggapi import FakeEggAPI, png_bytes
from testkit.processes import BotProcess
from testkit.starter import BotStarter
from testkit.world import TinyUploads, World, add_tiny_uploads

pytestmark = pytest.mark.usefixtures("on_each_backend")

PADDING = 300  # each PNG is about 400 B ...
LIMIT = 600  # ... so each image needs a message of its own


@pytest.fixture
def tiny(world: World, eggapi: FakeEggAPI) -> TinyUploads:
    """A guild whose upload limit fits one image per message."""
    eggapi.file_padding = PADDING
    return add_tiny_uploads(world.fake, LIMIT)


def posted_images(fake: FakeDiscord, channel: FakeChannel) -> Counter[bytes]:
    """How many times each image is in the channel."""
    return Counter(a.data for m in fake.messages(channel) for a in m.attachments)


def expected_images(eggapi: FakeEggAPI, count: int) -> Counter[bytes]:
    [egg_id] = list(eggapi.tasks)
    return Counter(png_bytes(egg_id, index, padding=PADDING) for index in range(count))


def is_post(tiny: TinyUploads) -> Callable[[RequestRecord], bool]:
    return lambda r: r.method == "POST" and re.search(tiny.posts, r.path) is not None


def images_at_done(bot: EggBot, fake: FakeDiscord, channel: FakeChannel) -> list[int]:
    """For each task recorded delivered: how many images were in the channel at that moment."""
    seen: list[int] = []
    bot.task_store.add_listener(
        lambda _task_id, new: (
            seen.append(sum(posted_images(fake, channel).values())) if new is TaskStatus.DELIVERED else None
        )
    )
    return seen


async def test_a_failed_later_part_is_posted_again_and_done_waits_for_it(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, tiny: TinyUploads
) -> None:
    fake = world.fake
    bot = await start_bot()
    seen = images_at_done(bot, fake, tiny.channel)
    fake.answer_late("POST", tiny.posts, 0.3)  # part 1 is handled at once and answered a little later ...
    status = await (await fake.slash(tiny.member, tiny.channel, "imagine", prompt="tiny fox", count=4)).wait_response()
    await fake.wait_for_request(is_post(tiny), completed=False)
    failure = fake.fail_next("POST", tiny.posts, 503)  # ... while part 2's POST is set to fail once
    await fake.wait_for(lambda f: f.message(status.id).deleted, timeout=20)
    assert failure.hits == 1
    assert posted_images(fake, tiny.channel) == expected_images(eggapi, 4)
    assert seen == [4]  # recorded delivered only once all four were in the channel
    task = await bot.task_store.get(1)
    assert task is not None and task.status is TaskStatus.DELIVERED and len(task.result_message_ids) == 4
    assert_clean(fake)


async def test_a_restart_between_parts_posts_only_the_missing_parts(
    world: World, eggapi: FakeEggAPI, bot_process: BotProcess, tiny: TinyUploads
) -> None:
    fake = world.fake
    await bot_process.start()
    fake.answer_late("POST", tiny.posts, 0.3)
    status = await (await fake.slash(tiny.member, tiny.channel, "imagine", prompt="tiny fox", count=4)).wait_response()
    await fake.wait_for_request(is_post(tiny), completed=False)
    fake.answer_late("POST", tiny.posts, 5)  # part 2 is posted; the kill comes before its answer
    await fake.wait_for(lambda f: sum(posted_images(f, tiny.channel).values()) == 2 or None, timeout=20)
    await bot_process.kill()
    fake.nonce_window = 0  # the restart comes too late for Discord's nonce: only the history tells
    await bot_process.start()
    await fake.wait_for(lambda f: f.message(status.id).deleted, timeout=20)
    assert posted_images(fake, tiny.channel) == expected_images(eggapi, 4)
    assert "resuming 1 unfinished task" in bot_process.output()
    assert_clean(fake)


async def test_another_members_prompt_naming_a_job_does_not_count_as_its_post(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    bot = await start_bot()
    await fake.slash(world.bob, world.general, "imagine", prompt="a cat, like job #2 and job #3")
    bobs = await fake.wait_for_message(world.general, lambda m: bool(m.attachments))
    assert "job #2" in bobs.content  # job ids are predictable, and the caption quotes the prompt
    failure = fake.fail_next("POST", rf"^/channels/{world.general.id}/messages$", 503)
    status = await (await fake.slash(world.alice, world.general, "imagine", prompt="a dog")).wait_response()
    await fake.wait_for(lambda f: f.message(status.id).deleted, timeout=20)
    assert failure.hits == 1
    alices = [m for m in fake.messages(world.general) if m.attachments and m.id != bobs.id]
    assert len(alices) == 1 and "a dog" in alices[0].content
    [_, alice_egg] = list(eggapi.tasks)
    assert [a.data for a in alices[0].attachments] == [png_bytes(alice_egg, 0)]
    task = await bot.task_store.get(2)
    assert task is not None and task.member_id == world.alice.id and task.result_message_ids == (alices[0].id,)
    assert_clean(fake)


async def test_a_repeat_after_a_long_outage_in_a_busy_channel_posts_nothing_new(
    world: World, eggapi: FakeEggAPI, bot_process: BotProcess
) -> None:
    fake = world.fake
    await bot_process.start()
    fake.answer_late("POST", rf"^/channels/{world.general.id}/messages$", 5)  # Discord takes it; the kill comes first
    status = await (await fake.slash(world.alice, world.general, "imagine", prompt="outage fox")).wait_response()
    await fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=20)
    await bot_process.kill()
    for n in range(120):  # the channel moves on while the bot is down: more than a page of history
        await fake.say(world.bob, world.general, f"chatter {n}")
    fake.nonce_window = 0  # and the restart comes after Discord's nonce window
    await bot_process.start()
    await fake.wait_for(lambda f: f.message(status.id).deleted, timeout=20)
    assert len([m for m in fake.messages(world.general) if m.attachments]) == 1
    assert_clean(fake)


async def test_a_nitro_members_result_fits_the_guilds_limit_not_theirs(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    nina = fake.add_member(world.guild, fake.add_user("nina", upload_limit=500 * MIB))  # Nitro: 500 MiB
    eggapi.file_padding = 11 * MIB  # bigger than the unboosted guild's 10 MiB
    await start_bot()
    handle = await fake.slash(nina, world.general, "imagine", prompt="huge fox")
    assert handle.payload["attachment_size_limit"] == 500 * MIB
    status = await handle.wait_response()
    await fake.wait_for(lambda f: f.message(status.id).deleted, timeout=20)
    [post] = [m for m in fake.messages(world.general) if m.attachments]
    assert 0 < post.attachments[0].size <= world.guild.filesize_limit  # shrunk to what the bot may post
    assert_clean(fake)
