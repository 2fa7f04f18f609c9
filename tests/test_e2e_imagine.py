"""/imagine end to end: the real bot and discord.py against the fake Discord and fake EggAPI."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.lifecycle.model import TaskStatus
from testkit.fake_discord import ClientRefusal, FakeChannel, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.starter import BotStarter, any_db
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")

MODERATION = "Content moderation: prompt contains prohibited content"


def is_result(message: FakeMessage) -> bool:
    """The channel post that carries a job's images."""
    return bool(message.attachments) and not message.ephemeral


async def result_in(world: World, channel: FakeChannel) -> FakeMessage:
    return await world.fake.wait_for_message(channel, is_result)


async def status_reads(world: World, message_id: int, text: str) -> FakeMessage:
    """Wait until the status message shows ``text``."""
    return await world.fake.wait_for(lambda f: f.message(message_id) if text in f.message(message_id).content else None)


def task_ids(eggapi: FakeEggAPI) -> list[str]:
    return list(eggapi.tasks)


async def test_one_image_round_trip(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot = await start_bot()
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="a red fox in snow")
    ack = await handle.wait_ack()
    assert not ack.ephemeral
    status = await handle.wait_response()
    assert "a red fox in snow" in status.content
    assert "Queued" in status.content or "Waiting" in status.content or "Generating" in status.content

    result = await result_in(world, world.general)
    [egg_id] = task_ids(eggapi)
    assert world.alice.mention in result.content
    assert "a red fox in snow" in result.content
    assert "`1 image · 16:9 · $0.01`" in result.content
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    assert result.attachments[0].filename.endswith(".png")
    assert [b.label for b in result.buttons] == [
        "Vary",
        "Edit",
        "Again at 2k",
        "Again at 4k",
        "Reroll",
        "Remix",
        "Details",
        "Delete",
    ]
    # Only the member is pinged, whatever the prompt says.
    assert result.allowed_mentions is not None and result.allowed_mentions.get("parse", []) == []

    await world.fake.wait_for(lambda f: f.message(status.id).deleted or None)  # the result is the job's message
    assert world.fake.messages(world.general) == [result]

    sent = eggapi.tasks[egg_id].request
    assert sent["model"] == "nanobanana" and sent["prompt"] == "a red fox in snow" and sent["num_outputs"] == 1
    assert eggapi.violations == []  # the API key never went to the file host

    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.status is TaskStatus.DELIVERED
    await world.fake.wait_for(lambda f: f.message(status.id).deleted or None)
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.status is TaskStatus.DELIVERED
    assert task.result_message_ids == (result.id,) and task.status_message_id is None  # removal recorded
    assert str(task.cost) == "0.0100"
    assert_clean(world.fake, caplog=caplog)


async def test_four_images_with_every_option(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    await start_bot()
    handle = await world.fake.slash(
        world.alice,
        world.general,
        "imagine",
        prompt="four foxes",
        count=4,
        aspect_ratio="9:16",
        resolution="2k",
        negative_prompt="blurry",
    )
    await handle.wait_ack()
    result = await result_in(world, world.general)
    [egg_id] = task_ids(eggapi)
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, i) for i in range(4)]
    assert "4 images · 9:16 · 2k · $0.04`" in result.content
    assert "blurry" in result.content
    sent = eggapi.tasks[egg_id].request
    assert (sent["num_outputs"], sent["aspect_ratio"], sent["resolution"], sent["negative_prompt"]) == (
        4,
        "9:16",
        "2k",
        "blurry",
    )
    assert_clean(world.fake)


async def test_moderation_failure_is_explained_without_raw_text(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.plan_next(TaskPlan(outcome="failed", error=MODERATION, polls_until_done=1))
    bot = await start_bot()
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="something forbidden")
    status = await handle.wait_response()
    notice = await world.fake.wait_for_message(world.general, lambda m: "was not made" in m.content)
    assert world.alice.mention in notice.content
    assert "content filter" in notice.content and "Nothing was charged" in notice.content
    await status_reads(world, status.id, "Failed")
    for message in world.fake.messages(world.general):
        assert MODERATION not in message.content
        assert not message.attachments
    [egg_id] = task_ids(eggapi)
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.status is TaskStatus.FAILED
    assert_clean(world.fake)


async def test_upstream_429_then_success(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    eggapi.fail_next("POST", r"^/v1/generate$", 429, headers={"Retry-After": "0"}, times=2)
    await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="patient fox")
    result = await result_in(world, world.general)
    assert eggapi.count("POST", "/v1/generate") == 3
    assert len(eggapi.tasks) == 1  # retried only because the 429s created nothing
    assert "patient fox" in result.content
    assert_clean(world.fake)


async def test_5xx_while_polling_is_retried(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    eggapi.default_plan = TaskPlan(polls_until_processing=1, polls_until_done=2)
    eggapi.fail_next("GET", r"^/v1/tasks/", 503, times=2)
    eggapi.fail_next("GET", r"^/v1/tasks/", 502, body="<html>Bad Gateway</html>")
    await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="resilient fox")
    result = await result_in(world, world.general)
    assert len(result.attachments) == 1
    assert_clean(world.fake)


async def test_bad_api_key_is_reported_politely(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot = await start_bot(api_key="egg_sk_revoked")
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="any fox")
    notice = await world.fake.wait_for_message(world.general, lambda m: "was not made" in m.content)
    assert "egg_sk_revoked" not in notice.content and "Invalid" not in notice.content
    assert eggapi.tasks == {}
    status = await handle.wait_response()
    await status_reads(world, status.id, "Failed")
    assert await bot.task_store.list_unfinished() == []  # the job ended (rejected); nothing is left pending
    await asyncio.wait_for(bot.prices.key_refused.wait(), 10)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and "UNAUTHORIZED" in r.getMessage()]
    tracker = "bot.lifecycle.tracker"
    assert [r.name for r in errors if r.name == tracker] == [tracker]  # once for the failed job
    # ...and once at start, from the first usage summary (python -m bot then stops; see test_subprocess).
    assert [r.getMessage() for r in errors if r.name == "bot.ledger.prices"] == [
        "EggAPI refused EGGAPI_API_KEY (UNAUTHORIZED); check the key in the EggAPI dashboard"
    ]
    assert all("egg_sk_revoked" not in r.getMessage() for r in caplog.records)


async def test_too_long_prompt_is_refused_before_any_api_call(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    bot = await start_bot()
    with pytest.raises(ClientRefusal):
        await world.fake.slash(world.alice, world.general, "imagine", prompt="x" * 2001)
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="x" * 2001, validate=False)
    reply = await handle.wait_response()
    assert reply.ephemeral
    assert "2,001 characters" in reply.content and "2,000" in reply.content
    assert eggapi.count("POST", "/v1/generate") == 0
    row = await any_db(bot).fetchone("SELECT COUNT(*) AS n FROM tasks")
    assert row is not None and row["n"] == 0
    assert_clean(world.fake)


async def test_slow_task_is_reported_still_running_then_delivered(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.default_plan = TaskPlan(hold=True, polls_until_processing=1)
    await start_bot(EGGBOT_TASK_DEADLINE="0.3")
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="slow fox")
    status = await handle.wait_response()
    [egg_id] = await world.fake.wait_for(lambda f: task_ids(eggapi) or None)
    still = await status_reads(world, status.id, "Taking longer than usual")
    assert still.content.startswith("🐢 **Taking longer than usual** · job #1 · ")
    assert still.content.endswith(
        "The image service is taking longer than usual. I'll post the image here as soon as it's done."
    )
    assert egg_id not in still.content and "EggAPI" not in still.content  # M28: no upstream ids for members
    assert "Failed" not in still.content
    eggapi.finish(egg_id)
    result = await result_in(world, world.general)
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    assert_clean(world.fake)


async def test_works_in_threads(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    await start_bot()
    await world.fake.slash(world.bob, world.thread, "imagine", prompt="fox in a thread")
    result = await result_in(world, world.thread)
    assert world.bob.mention in result.content
    assert not [m for m in world.fake.messages(world.general) if m.attachments]
    assert_clean(world.fake)


async def test_dms_are_refused_politely(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    await start_bot()
    dm = world.fake.dm_channel_for(world.alice)
    handle = await world.fake.slash(world.alice, dm, "imagine", prompt="private fox")
    reply = await handle.wait_response()
    assert reply.ephemeral and "server" in reply.content
    assert eggapi.count("POST", "/v1/generate") == 0
    assert_clean(world.fake)


async def test_channel_without_attach_permission_is_refused(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    world.fake.deny_bot(world.general, "ATTACH_FILES")
    await world.fake.settle()
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="fox")
    reply = await handle.wait_response()
    assert reply.ephemeral and "Attach Files" in reply.content
    assert eggapi.count("POST", "/v1/generate") == 0
    assert_clean(world.fake)


async def test_reroll_button_runs_the_prompt_again_for_the_clicker(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="reroll me", count=2)
    first = await result_in(world, world.general)
    click = await world.fake.click(world.bob, first, first.button("Reroll").custom_id)
    await click.wait_ack()
    second = await world.fake.wait_for_message(world.general, lambda m: is_result(m) and m.id != first.id)
    assert world.bob.mention in second.content and "reroll me" in second.content
    assert len(second.attachments) == 2
    assert [t.request["prompt"] for t in eggapi.tasks.values()] == ["reroll me", "reroll me"]
    assert_clean(world.fake)


async def test_delete_button_is_only_for_the_requester(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="delete me")
    result = await result_in(world, world.general)
    refused = await world.fake.click(world.bob, result, result.button("Delete").custom_id)
    assert "Only the member" in (await refused.wait_response()).content
    assert not world.fake.message(result.id).deleted
    allowed = await world.fake.click(world.alice, result, result.button("Delete").custom_id)
    await allowed.wait_ack()
    await world.fake.wait_for(lambda f: f.message(result.id).deleted)
    assert_clean(world.fake)


async def test_dms_work_when_the_operator_allows_them(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    await start_bot(EGGBOT_ALLOW_DMS="true")
    dm = world.fake.dm_channel_for(world.alice)
    handle = await world.fake.slash(world.alice, dm, "imagine", prompt="private fox")
    status = await handle.wait_response()
    assert not status.ephemeral and "private fox" in status.content
    result = await world.fake.wait_for_message(dm, is_result)
    [egg_id] = task_ids(eggapi)
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    assert_clean(world.fake)


def status_edits(world: World, message_id: int) -> tuple[int, int]:
    """Edits of a status message (through the interaction token, as a channel message)."""
    token = sum(1 for r in world.fake.requests if r.method == "PATCH" and r.path.endswith("/messages/@original"))
    channel = sum(1 for r in world.fake.requests if r.method == "PATCH" and r.path.endswith(f"/messages/{message_id}"))
    return token, channel


async def test_status_edits_go_through_the_interaction_then_the_channel(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """While the token lasts the status message is edited through it; once it is refused, as a message."""
    fake = world.fake
    eggapi.plan_next(TaskPlan(hold=True))
    await start_bot()
    handle = await fake.slash(world.alice, world.general, "imagine", prompt="a patient fox")
    status = await handle.wait_response()
    await eggapi.wait_until(lambda: bool(eggapi.tasks))
    [egg_id] = task_ids(eggapi)
    await status_reads(world, status.id, "a patient fox")
    await fake.wait_for(lambda f: status_edits(world, status.id)[0] >= 1 or None)
    assert status_edits(world, status.id)[1] == 0  # nothing edited with the bot token yet
    handle.expire()  # as after 15 minutes
    eggapi.finish(egg_id)
    await result_in(world, world.general)
    await fake.wait_for(lambda f: f.message(status.id).deleted or None)
    channel_route = f"/channels/{world.general.id}/messages/{status.id}"
    assert [r for r in fake.requests if r.method == "DELETE" and r.path == channel_route]  # with the bot token
    assert_clean(fake, allow=("token_expired",))


async def test_partial_result_is_captioned_as_what_was_made(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """EggAPI made 1 of the 3 images asked for: the caption says so, and the cost is the real one (B3)."""
    eggapi.plan_next(TaskPlan(images=1))
    await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="three foxes", count=3)
    result = await result_in(world, world.general)
    assert len(result.attachments) == 1
    assert "`1 of 3 images · 16:9 · $0.01` · job #1" in result.content
    assert_clean(world.fake)


async def test_failure_notice_of_a_multi_image_job_is_plural(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.plan_next(TaskPlan(outcome="failed", error="CUDA OOM at node 7"))
    await start_bot()
    status = await (
        await world.fake.slash(world.alice, world.general, "imagine", prompt="two foxes", count=2)
    ).wait_response()
    notice = await world.fake.wait_for_message(world.general, lambda m: "not made" in m.content)
    assert notice.id == status.id and world.fake.messages(world.general) == [notice]  # a failure is one message
    assert notice.content == (
        f"❌ **Failed**\n{world.alice.mention} your images for **two foxes** (job #1) were not made. "
        "The image service could not finish this job. Please try again. Nothing was charged."
    )
    assert_clean(world.fake)


OUT_OF_CREDIT = "The bot's image service account is out of credit, and only the bot's owner can top it up."


async def test_out_of_credit_names_the_bots_owner_on_both_paths(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """A 403 at submit and a task that failed for lack of credit read the same, and name who can act (B4)."""
    eggapi.fail_next("POST", r"^/v1/generate$", 403, code="INSUFFICIENT_BALANCE")
    await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="broke fox")
    at_submit = await world.fake.wait_for_message(
        world.general, lambda m: "broke fox" in m.content and "not made" in m.content
    )
    eggapi.plan_next(TaskPlan(outcome="failed", error="Insufficient balance to complete the task"))
    await world.fake.slash(world.alice, world.general, "imagine", prompt="late broke")
    failed = await world.fake.wait_for_message(
        world.general, lambda m: "late broke" in m.content and "not made" in m.content
    )
    for notice, job in ((at_submit, 1), (failed, 2)):
        assert notice.content.endswith(f"(job #{job}) was not made. {OUT_OF_CREDIT} Nothing was charged.")
        assert "admin" not in notice.content
    assert_clean(world.fake)
