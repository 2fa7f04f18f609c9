"""The command tree: the tree-wide check, and one error handler that answers every failure politely.

The words live in :mod:`bot.app.replies` (shared with views and buttons), the checks in
:mod:`bot.app.checks` (shared with components).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.app.checks import ShuttingDown, not_stopping
from bot.app.replies import GENERIC_FAILURE, RESTARTING, describe_error, report

if TYPE_CHECKING:
    from bot.app.client import EggBot  # noqa: F401 - named in a string: EggTree's base is evaluated at run time

__all__ = ["GENERIC_FAILURE", "RESTARTING", "EggTree", "ShuttingDown", "describe_error"]

log = logging.getLogger(__name__)


class EggTree(app_commands.CommandTree["EggBot"]):
    """Command tree with the bot's error ladder."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Refuse new commands politely while the bot is shutting down (nothing is recorded)."""
        return not_stopping(interaction)

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Log once for operators and answer the member without internals.

        A command with its own error handler answers for itself (as discord.py's default handler
        assumes); only the tree's own check fails before such a handler could see the error.
        """
        command = interaction.command
        if command is not None and command._has_any_error_handlers() and not isinstance(error, ShuttingDown):
            return
        name = command.qualified_name if command is not None else "?"
        task_id = interaction.extras.get("task_id")
        await report(interaction, error, context=f"/{name} by member {interaction.user.id} (task {task_id})")
