"""The command tree and its one error handler: every failure becomes a polite ephemeral reply."""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.eggapi import EggAPIError
from bot.errors import UserFacingError

if TYPE_CHECKING:
    from bot.app.client import EggBot  # noqa: F401 - named in a string: EggTree's base is evaluated at run time

log = logging.getLogger(__name__)

GENERIC_FAILURE = "Something went wrong on our side. It has been logged; please try again in a moment."
RESTARTING = "I'm restarting right now. Please try again in a minute."


class ShuttingDown(app_commands.CheckFailure):
    """The bot is stopping and takes no new commands."""


def _permission_names(missing: list[str]) -> str:
    return ", ".join(name.replace("_", " ").replace("guild", "server").title() for name in missing)


def describe_error(error: Exception) -> tuple[str, bool]:
    """The member-facing text for an error, and whether it is unexpected (a bug or an outage to log loudly)."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, UserFacingError):
        return original.user_message, False
    if isinstance(original, EggAPIError):
        return original.user_message, False
    if isinstance(error, ShuttingDown):
        return RESTARTING, False
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server channel.", False
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need the {_permission_names(error.missing_permissions)} permission to do that.", False
    if isinstance(error, app_commands.BotMissingPermissions):
        return f"I need the {_permission_names(error.missing_permissions)} permission here.", False
    if isinstance(error, app_commands.CommandOnCooldown):
        ready = math.ceil(time.time() + error.retry_after)
        return f"Slow down a little: you can use this again <t:{ready}:R>.", False
    if isinstance(error, app_commands.TransformerError):
        return "One of the values you gave is not valid. Check the options and try again.", False
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here.", False
    if isinstance(error, app_commands.CommandNotFound):
        return "This command is out of date. Please try again in a minute.", True
    return GENERIC_FAILURE, True


async def respond(interaction: discord.Interaction, content: str) -> None:
    """Reply ephemerally whether or not the interaction was already answered."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True)
        else:
            await interaction.response.send_message(content, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not send the error reply for interaction %s: %s", interaction.id, exc)


async def report(interaction: discord.Interaction, error: Exception) -> None:
    """The error handler for components, which bypass the tree: log unexpected errors, answer politely."""
    message, unexpected = describe_error(error)
    if unexpected:
        log.error("component %s by member %s failed", interaction.data, interaction.user.id, exc_info=error)
    await respond(interaction, message)


class EggTree(app_commands.CommandTree["EggBot"]):
    """Command tree with the bot's error ladder."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Refuse new commands politely while the bot is shutting down (nothing is recorded)."""
        if getattr(self.client, "stopping", False):
            raise ShuttingDown()
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Log once for operators and answer the member without internals."""
        message, unexpected = describe_error(error)
        command = interaction.command.qualified_name if interaction.command else "?"
        task_id = interaction.extras.get("task_id")
        context = f"/{command} by member {interaction.user.id} (task {task_id})"
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(error, app_commands.CommandNotFound):
            log.error("%s: command not registered here; run `python -m bot sync`", context)
        elif unexpected:
            log.error("%s failed", context, exc_info=original)
        elif isinstance(original, EggAPIError):
            log.warning("%s: EggAPI said HTTP %s %s", context, original.status, original.code)
        else:
            log.info("%s refused: %s", context, type(original).__name__)
        await respond(interaction, message)
