"""Error replies end to end: local handlers answer alone, expired tokens fall back, buttons obey the checks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.app.replies import GENERIC_FAILURE, RESTARTING
from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.starter import BotStarter, any_db
from testkit.world import World
from tests.test_e2e_submit_faults import Watch

pytestmark = pytest.mark.usefixtures("on_each_backend")


def is_result(message: Any) -> bool:
    return bool(message.attachments)


async def test_a_command_with_its_own_error_handler_answers_alone(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    bot = await start_bot()
    handled: list[asyncio.Task[Any]] = []

    @app_commands.command(name="boom", description="Fails on purpose")
    async def boom(interaction: discord.Interaction) -> None:
        raise RuntimeError("boom")

    @boom.error
    async def boom_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        handled.append(asyncio.current_task())  # type: ignore[arg-type]  # the tree's invoker task
        await interaction.response.send_message("handled here", ephemeral=True)

    bot.tree.add_command(boom)
    await bot.sync_commands(force=True)
    handle = await world.fake.slash(world.alice, world.general, "boom")
    assert (await handle.wait_response()).content == "handled here"
    await asyncio.wait_for(asyncio.shield(handled[0]), 10)  # the tree's on_error has run too, by now
    assert handle.followup_ids == []
    assert_clean(world.fake)


async def test_an_expired_token_falls_back_to_the_channel_for_public_text(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    mod = fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    await start_bot()
    fake.token_ttl = 0  # the report is ready after the token died (a slow EggAPI, say)
    handle = await fake.slash(mod, world.general, "usage")
    notice = await fake.wait_for_message(world.general, lambda m: GENERIC_FAILURE in m.content)
    assert notice.content == f"{mod.mention} {GENERIC_FAILURE}"
    assert not notice.ephemeral
    assert notice.mentions == [mod.id]  # pings that member only
    assert notice.allowed_mentions is not None
    assert notice.allowed_mentions["parse"] == [] and [int(u) for u in notice.allowed_mentions["users"]] == [mod.id]
    assert handle.followup_ids == []
    assert {v.kind for v in fake.pop_violations("token_expired")} == {"token_expired"}
    assert_clean(fake)


async def test_an_expired_token_sends_private_text_by_dm(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    await start_bot()
    await fake.slash(world.alice, world.general, "imagine", prompt="mine")
    result = await fake.wait_for_message(world.general, is_result)
    fake.ack_deadline = 0  # the bot answers too late: Discord no longer takes the interaction
    await fake.click(world.bob, result, result.button("Delete").custom_id)
    dm = await fake.wait_for_message(fake.dm_channel_for(world.bob))
    assert dm.content == (
        f"I could not answer you in <#{world.general.id}> in time: "
        "Only the member who asked for these images (or a moderator) can delete them."
    )
    assert not fake.message(result.id).deleted
    assert all("Only the member" not in m.content for m in fake.messages(world.general, as_user=world.alice))
    fake.pop_violations("ack_timeout", "unknown_interaction")
    assert_clean(fake)


async def test_private_text_is_dropped_when_dms_are_closed(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    fake = world.fake
    await start_bot()
    await fake.slash(world.alice, world.general, "imagine", prompt="mine")
    result = await fake.wait_for_message(world.general, is_result)
    fake.block_dms(world.bob)
    fake.ack_deadline = 0
    watch = Watch("reply dropped")  # a log line: the fake's waits are woken by Discord traffic, not by logs
    logger = logging.getLogger("bot.app.replies")
    logger.addHandler(watch)
    try:
        with caplog.at_level(logging.INFO, logger="bot.app.replies"):
            await fake.click(world.bob, result, result.button("Delete").custom_id)
            await asyncio.wait_for(watch.seen.wait(), 10)
    finally:
        logger.removeHandler(watch)
    assert all("Only the member" not in m.content for m in fake.messages(world.general))
    dropped = next(r for r in caplog.records if "reply dropped" in r.getMessage())
    assert dropped.levelno == logging.INFO
    fake.pop_violations("ack_timeout", "unknown_interaction")
    assert_clean(fake)


async def test_buttons_are_refused_politely_while_stopping(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    fake = world.fake
    mod = fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")
    bot = await start_bot()
    await fake.slash(world.alice, world.general, "imagine", prompt="again please")
    result = await fake.wait_for_message(world.general, is_result)
    report = await (await fake.slash(mod, world.general, "usage")).wait_response()
    bot.stopping = True  # what close() sets first
    reroll = await fake.click(world.alice, result, result.button("Reroll").custom_id)
    assert (await reroll.wait_response()).content == RESTARTING
    export = await fake.click(mod, report, report.button("Export CSV + chart").custom_id)
    answer = await export.wait_response()
    assert answer.ephemeral and answer.content == RESTARTING
    row = await any_db(bot).fetchone("SELECT COUNT(*) AS n FROM tasks")
    assert row is not None and row["n"] == 1  # the reroll recorded nothing
    bot.stopping = False
    assert_clean(fake)
