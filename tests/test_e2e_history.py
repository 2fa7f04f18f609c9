"""/history and /show end to end, as members and moderators use them in the fake Discord, across restarts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from testkit.fake_discord import FakeChannel, FakeMember, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.starter import BotStarter
from testkit.world import World
from tests.test_e2e_mydata import Deliveries, ask, press

pytestmark = pytest.mark.usefixtures("on_each_backend")

RESULT_POST = re.compile(r"https://discord\.com/channels/(\d+)/(\d+)/(\d+)")


def is_result(prompt: str) -> Any:
    return lambda message: bool(message.attachments) and prompt in message.content and not message.ephemeral


async def make(world: World, user: FakeMember, prompt: str, **options: Any) -> FakeMessage:
    """Run /imagine and wait for the posted result."""
    await world.fake.slash(user, world.general, "imagine", prompt=prompt, **options)
    return await world.fake.wait_for_message(world.general, is_result(prompt))


def job_of(message: FakeMessage) -> int:
    match = re.search(r"job #(\d+)", message.content)
    assert match is not None, message.content
    return int(match[1])


def order(text: str) -> list[int]:
    """The job numbers a page lists, top to bottom."""
    return [int(n) for n in re.findall(r"\*\*#(\d+)\*\*", text)]


async def test_history_pages_newest_first_and_its_buttons_work_after_a_restart(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    bot = await start_bot()
    delivered = Deliveries(bot)
    eggapi.plan_next(TaskPlan(outcome="failed"))
    await world.fake.slash(world.alice, world.general, "imagine", prompt="doomed fox **bold** @everyone")
    await world.fake.wait_for_message(world.general, lambda m: "was not made" in m.content)
    results = [await make(world, world.alice, f"fox number {n}") for n in range(2, 7)]
    await make(world, world.bob, "bob's badger")
    await delivered.wait(6)
    jobs = [job_of(message) for message in results]

    first = await ask(world, world.alice, "history")
    assert "**Your jobs on this server** · page 1 of 2 (6 in all)" in first.content
    assert order(first.content) == jobs[::-1]
    newest = results[-1]
    assert f"https://discord.com/channels/{world.guild.id}/{world.general.id}/{newest.id}" in first.content
    assert "✅ posted · 1 image · $0.01" in first.content and "badger" not in first.content
    assert [(b.label, b.disabled) for b in first.buttons] == [("Newer", True), ("Older", False)]

    await start_bot.stop()
    await start_bot()  # the buttons carry everything they need

    older = await press(world, world.alice, first, "Older")
    assert "page 2 of 2" in older.content and older.id == first.id
    assert "❌ failed · 1 image · nothing charged" in older.content
    # The prompt is shown inert: no bold, no ping.
    assert "doomed fox \\*\\*bold\\*\\* @\u200beveryone" in older.content
    assert [(b.label, b.disabled) for b in older.buttons] == [("Newer", False), ("Older", True)]
    again = await press(world, world.alice, older, "Newer")
    assert order(again.content) == jobs[::-1]

    refused = await ask(world, world.bob, "history", member=world.alice)
    assert "Only moderators can see another member's jobs" in refused.content and not refused.buttons
    seen = await ask(world, mod, "history", member=world.alice)
    assert f"**<@{world.alice.id}>'s jobs on this server** · page 1 of 2" in seen.content
    assert order(seen.content) == jobs[::-1] and seen.mentions == []
    turned = await press(world, mod, seen, "Older")
    assert "❌ failed" in turned.content
    empty = await ask(world, mod, "history", member=mod)
    assert "You have no jobs on this server yet" in empty.content and not empty.buttons
    assert_clean(world.fake)


async def show(world: World, user: FakeMember, job: int, *, where: FakeChannel | None = None) -> FakeMessage:
    handle = await world.fake.slash(user, where or world.general, "show", job=job)
    return await handle.wait_response()


async def test_show_posts_a_jobs_images_again_after_a_restart(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, mod: FakeMember
) -> None:
    bot = await start_bot()
    delivered = Deliveries(bot)
    result = await make(world, world.alice, "two red foxes", count=2, negative_prompt="blur")
    await delivered.wait(1)
    job = job_of(result)
    [egg_id] = list(eggapi.tasks)
    await start_bot.stop()
    bot = await start_bot()

    shown = await show(world, world.alice, job)
    assert not shown.ephemeral and shown.channel_id == world.general.id
    assert [a.data for a in shown.attachments] == [png_bytes(egg_id, 0), png_bytes(egg_id, 1)]
    assert [a.filename for a in shown.attachments] == [f"job-{job}-1.png", f"job-{job}-2.png"]
    assert f"🔎 **Job #{job}** by <@{world.alice.id}>" in shown.content and "**two red foxes**" in shown.content
    assert "Without: blur" in shown.content and "`2 images · 16:9 · $0.02`" in shown.content
    assert f"/{world.general.id}/{result.id})" in shown.content and shown.mentions == []
    assert eggapi.count("GET", f"/files/images/{egg_id}/") == 4  # delivered once, shown once

    # EggAPI no longer has the files: the result post's own attachments are shown.
    eggapi.fail_next("GET", r"^/files/images/", 404, times=10)
    again = await show(world, mod, job)
    assert [a.data for a in again.attachments] == [a.data for a in result.attachments]
    assert world.fake.messages(world.general)[-1].id == again.id

    # And once the post is deleted as well, the member is told plainly.
    await press(world, world.alice, result, "Delete")
    gone = await show(world, world.alice, job)
    assert f"I can't get the images of job #{job} any more" in gone.content and not gone.attachments
    assert_clean(world.fake)


async def test_show_refuses_what_it_cannot_or_may_not_show(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    bot = await start_bot()
    delivered = Deliveries(bot)
    mine = job_of(await make(world, world.alice, "alice's fox"))
    await delivered.wait(1)
    eggapi.plan_next(TaskPlan(outcome="failed"))
    await world.fake.slash(world.alice, world.general, "imagine", prompt="failing fox")
    failed_notice = await world.fake.wait_for_message(world.general, lambda m: "was not made" in m.content)
    failed = job_of(failed_notice)
    eggapi.plan_next(TaskPlan(hold=True))
    status = await (await world.fake.slash(world.alice, world.general, "imagine", prompt="slow fox")).wait_response()
    running = job_of(status)
    other = world.fake.add_guild("Elsewhere")
    there = world.fake.add_channel(other, "art")
    world.fake.add_member(other, world.alice.user)
    await world.fake.settle()
    elsewhere = job_of(await make_in(world, world.alice, there, "far away fox"))

    assert "isn't yours" in (await show(world, world.bob, mine)).content
    assert "There's no job #999999 on this server" in (await show(world, world.alice, 999999)).content
    assert f"There's no job #{elsewhere} on this server" in (await show(world, world.alice, elsewhere)).content
    assert f"Job #{failed} made no images (❌ failed)" in (await show(world, world.alice, failed)).content
    unfinished = await show(world, world.alice, running)
    assert f"Job #{running} isn't finished yet" in unfinished.content
    assert f"<#{world.general.id}>" in unfinished.content and unfinished.ephemeral

    question = await ask(world, world.alice, "mydata", "delete")
    await press(world, world.alice, question, "Delete")
    erased = await show(world, world.alice, mine)
    assert f"The prompt and images of job #{mine} were deleted" in erased.content
    assert_clean(world.fake)


async def make_in(world: World, user: FakeMember, channel: FakeChannel, prompt: str) -> FakeMessage:
    await world.fake.slash(user, channel, "imagine", prompt=prompt)
    return await world.fake.wait_for_message(channel, is_result(prompt))


async def test_a_german_member_reads_history_and_show_in_german(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    locale = "de"
    bot = await start_bot()
    delivered = Deliveries(bot)
    job = job_of(await make(world, world.alice, "ein roter Fuchs"))
    await delivered.wait(1)
    page = await (await world.fake.slash(world.alice, world.general, "history", locale=locale)).wait_response()
    assert "**Deine Aufträge auf diesem Server** · Seite 1 von 1 (1 insgesamt)" in page.content
    assert f"**#{job}** · ✅ gepostet · 1 Bild · $0.01" in page.content and "[Ergebnis](" in page.content
    shown = await (await world.fake.slash(world.alice, world.general, "show", job=job, locale=locale)).wait_response()
    assert f"🔎 **Auftrag #{job}** von <@{world.alice.id}>" in shown.content and "[ursprünglicher Beitrag](" in (
        shown.content
    )
    refused = await (await world.fake.slash(world.bob, world.general, "show", job=job, locale=locale)).wait_response()
    assert refused.ephemeral and f"Auftrag #{job} gehört dir nicht" in refused.content
    assert_clean(world.fake)


async def test_a_job_sent_by_dm_is_shown_privately_and_listed_without_a_channel_link(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    eggapi.plan_next(TaskPlan(hold=True))
    bot = await start_bot()
    delivered = Deliveries(bot)
    status = await (await fake.slash(world.alice, world.general, "imagine", prompt="secret fox")).wait_response()
    [egg_id] = await fake.wait_for(lambda f: list(eggapi.tasks) or None)
    await fake.wait_for(lambda f: f.message(status.id).button("Hide") if f.message(status.id).buttons else None)
    await (await fake.click(world.alice, status, fake.message(status.id).button("Hide").custom_id)).wait_response()
    await fake.wait_for(lambda f: f.message(status.id).deleted)
    eggapi.finish(egg_id)
    private = await fake.wait_for_message(fake.dm_channel_for(world.alice), lambda m: bool(m.attachments))
    await delivered.wait(1)
    job = job_of(private)

    listed = await ask(world, world.alice, "history")
    assert "✅ posted" in listed.content and "sent by direct message" in listed.content
    assert "https://discord.com/channels/" not in listed.content  # no link into someone's DMs
    eggapi.fail_next("GET", r"^/files/images/", 404, times=10)  # so the DM's own copy is read again
    shown = await show(world, world.alice, job)
    assert shown.ephemeral and shown.visible_to == world.alice.id
    assert [a.data for a in shown.attachments] == [a.data for a in private.attachments]
    assert not [m for m in fake.messages(world.general, as_user=world.bob) if m.attachments]
    assert_clean(fake)
