"""Reference images end to end: Discord's signed attachment URLs expire, and EggAPI downloads them late.

The fake Discord signs attachment URLs for 24 hours on its own clock and the fake EggAPI downloads
``image_urls`` when a task starts; the bot shares the fake's clock, as it shares the world's time.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.app.client import EggBot
from bot.ledger import HoldState
from bot.lifecycle.model import TaskStatus
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan
from testkit.starter import BotStarter, any_db
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")

HOUR = 3600.0
REFERENCE = {"reference": ("fox.png", b"\x89PNG reference fox", "image/png")}


def is_result(message: FakeMessage) -> bool:
    return bool(message.attachments) and not message.ephemeral


async def task_count(bot: EggBot) -> int:
    row = await any_db(bot).fetchone("SELECT COUNT(*) AS n FROM tasks")
    assert row is not None
    return int(row["n"])


async def test_a_fresh_reference_reaches_eggapi_and_is_downloaded(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    handle = await world.fake.slash(
        world.alice, world.general, "imagine", prompt="this fox, but blue", attachments=REFERENCE
    )
    await world.fake.wait_for_message(world.general, is_result)
    [task] = eggapi.tasks.values()
    [given] = handle.payload["data"]["resolved"]["attachments"].values()
    assert task.request["image_urls"] == [given["url"]] and "ex=" in given["url"]
    assert [(f.url, f.status) for f in eggapi.input_fetches] == [(given["url"], 200)]
    assert_clean(world.fake)


async def test_reroll_of_a_job_whose_references_expired_is_refused_before_anything_is_charged(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    bot = await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="this fox, but blue", attachments=REFERENCE)
    first = await world.fake.wait_for_message(world.general, is_result)
    task = await bot.task_store.get_by_egg_id(next(iter(eggapi.tasks)))
    assert task is not None
    task_id = task.id

    world.fake.clock.advance(48 * HOUR)  # two days later the stored Discord link is dead
    click = await world.fake.click(world.bob, first, first.button("Reroll").custom_id)
    reply = await click.wait_response()
    assert reply.ephemeral and reply.visible_to == world.bob.id
    assert reply.content == (
        f"The reference images of job #{task_id} have expired on Discord, so I can't reroll it. "
        "Run /imagine again and attach them. Nothing was charged."
    )
    assert eggapi.count("POST", "/v1/generate") == 1  # nothing sent to EggAPI
    assert await task_count(bot) == 1  # nothing recorded, so nothing held
    balance = await bot.ledger.balance(world.guild.id, world.bob.id, [])
    assert balance.settled == Decimal("0") and balance.reserved == Decimal("0")
    assert_clean(world.fake)


async def test_a_job_that_waited_in_line_until_its_references_expire_ends_uncharged(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    bot = await start_bot(EGGBOT_MAX_RUNNING_PER_MEMBER="1")
    eggapi.plan_next(TaskPlan(hold=True))
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a first fox")
    [first_egg] = await world.fake.wait_for(lambda f: list(eggapi.tasks) or None)
    handle = await world.fake.slash(
        world.alice, world.general, "imagine", prompt="this fox, but blue", attachments=REFERENCE
    )
    status = await handle.wait_response()
    await world.fake.wait_for(lambda f: "in line" in f.message(status.id).content or None)
    waiting = await bot.task_store.get(int(status.content.split("job #")[1].split()[0]))
    assert waiting is not None and waiting.status is TaskStatus.QUEUED and waiting.reference_urls

    world.fake.clock.advance(23.5 * HOUR)  # the link still works, but not for long enough
    eggapi.finish(first_egg)
    failed = await world.fake.wait_for(
        lambda f: f.message(status.id) if "Failed" in f.message(status.id).content else None
    )
    assert "nothing was charged" in failed.content and "Run /imagine again and attach them" in failed.content
    notice = await world.fake.wait_for_message(world.general, lambda m: "was not made" in m.content)
    assert world.alice.mention in notice.content and notice.content.lower().count("nothing was charged") == 1
    assert eggapi.count("POST", "/v1/generate") == 1 and eggapi.input_fetches == []  # never sent
    ended = await bot.task_store.get(waiting.id)
    assert ended is not None and ended.status is TaskStatus.REJECTED and ended.cost is None
    hold = await bot.ledger.hold(waiting.id)
    assert hold is not None and hold.state is HoldState.RELEASED
    balance = await bot.ledger.balance(world.guild.id, world.alice.id, [])
    assert balance.settled == Decimal("0.01") and balance.reserved == Decimal("0")  # the first fox only
    assert_clean(world.fake)


async def test_a_gif_reference_is_used_and_a_wrong_attachment_is_refused_naming_gif(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    bot = await start_bot()
    gif = {"reference": ("dancing.gif", b"GIF89a reference fox", "image/gif")}
    await world.fake.slash(world.alice, world.general, "imagine", prompt="this fox, but dancing", attachments=gif)
    await world.fake.wait_for_message(world.general, is_result)
    [task] = eggapi.tasks.values()
    assert len(task.request["image_urls"]) == 1 and "dancing.gif" in task.request["image_urls"][0]

    notes = {"reference": ("notes.txt", b"not a picture", "text/plain")}
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="this fox", attachments=notes)
    reply = await handle.wait_response()
    assert reply.ephemeral and reply.visible_to == world.alice.id
    assert reply.content == "`notes.txt` is not an image I can use; attach a PNG, JPEG, WebP or GIF."
    assert eggapi.count("POST", "/v1/generate") == 1 and await task_count(bot) == 1  # the refused one never ran
    assert_clean(world.fake)
