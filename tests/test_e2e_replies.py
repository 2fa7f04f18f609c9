"""Error replies end to end: local handlers answer alone, expired tokens fall back, buttons obey the checks."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord import app_commands

from tests.conftest import World
from tests.fakes.discord_harness import assert_clean
from tests.fakes.eggapi import FakeEggAPI


async def test_a_command_with_its_own_error_handler_answers_alone(
    world: World, eggapi: FakeEggAPI, start_bot: Any
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
