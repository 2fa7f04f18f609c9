"""What every persistent button of the bot does with a click before and around its own work."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.app.checks import not_stopping
from bot.app.replies import report

if TYPE_CHECKING:
    from bot.app.client import EggBot


class Answered:
    """A button's click as the tree runs a command: its checks first, every error answered politely.

    Components bypass the tree (and discord.py drops what ``interaction_check`` raises), so the bot's
    persistent buttons mix this in ahead of ``DynamicItem`` and give ``run``.
    """

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """The tree's checks, answered like a command's (discord.py drops what this raises, so report it)."""
        try:
            return not_stopping(interaction)
        except Exception as exc:
            await report(interaction, exc)
            return False

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.run(interaction, interaction.client)  # type: ignore[arg-type]
        except Exception as exc:
            await report(interaction, exc)

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        """What the click does."""
        raise NotImplementedError
