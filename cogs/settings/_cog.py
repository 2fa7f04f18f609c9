"""/settings show, set and reset: parse, call ``bot.members.MemberPreferences``, render.

Only the member sees and changes their own defaults; every answer is ephemeral.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import texts
from bot.lifecycle.model import COUNT_MAX, COUNT_MIN
from bot.members import FIELDS, SUFFIX_MAX
from cogs.settings._render import preferences_text

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

ResetChoice = Literal["all", "aspect_ratio", "count", "resolution", "suffix", "mention"]


@app_commands.guild_only()
class SettingsGroup(app_commands.Group, name="settings", description="Your own defaults for /imagine on this server"):
    """A member's defaults; nothing here reaches anyone else."""

    def __init__(self, bot: EggBot) -> None:
        super().__init__()
        self.bot = bot

    async def _answer(self, interaction: discord.Interaction, changed: str | None = None) -> None:
        preferences = await self.bot.preferences.get(interaction.guild_id, interaction.user.id)
        text = preferences_text(texts(str(interaction.locale)), preferences, changed=changed)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    @app_commands.command(name="show")
    async def show(self, interaction: discord.Interaction) -> None:
        """See your defaults for /imagine on this server."""
        await self._answer(interaction)

    @app_commands.command(name="set")
    @app_commands.describe(
        aspect_ratio="The shape /imagine uses when you give none",
        count="How many images /imagine makes when you give no count",
        resolution="The resolution /imagine asks for when you give none",
        suffix="Words added to the end of each of your prompts",
        mention="Whether your result posts ping you",
    )
    async def set_defaults(
        self,
        interaction: discord.Interaction,
        aspect_ratio: Literal["16:9", "9:16"] | None = None,
        count: app_commands.Range[int, COUNT_MIN, COUNT_MAX] | None = None,
        resolution: Literal["1k", "2k", "4k"] | None = None,
        suffix: app_commands.Range[str, 1, SUFFIX_MAX] | None = None,
        mention: bool | None = None,
    ) -> None:
        """Change some of your defaults (the options you give /imagine still win)."""
        given = {
            name: value
            for name, value in (
                ("aspect_ratio", aspect_ratio),
                ("count", count),
                ("resolution", resolution),
                ("suffix", suffix),
                ("mention", mention),
            )
            if value is not None
        }
        if not given:
            await self._answer(interaction, "settings.nothing_given")
            return
        await self.bot.preferences.update(interaction.guild_id, interaction.user.id, given)
        log.info("guild %s: member %s set %s", interaction.guild_id, interaction.user.id, sorted(given))
        await self._answer(interaction, "settings.saved")

    @app_commands.command(name="reset")
    @app_commands.describe(setting="Which default to forget (default: all of them)")
    async def reset(self, interaction: discord.Interaction, setting: ResetChoice = "all") -> None:
        """Go back to the bot's defaults, for one setting or all of them."""
        names = tuple(FIELDS) if setting == "all" else (setting,)
        await self.bot.preferences.reset(interaction.guild_id, interaction.user.id, names)
        log.info("guild %s: member %s reset %s", interaction.guild_id, interaction.user.id, setting)
        await self._answer(interaction, "settings.reset_done")


class SettingsCog(commands.Cog):
    """Members' own defaults."""

    def __init__(self, bot: EggBot) -> None:
        self.bot = bot
        self.group = SettingsGroup(bot)

    async def cog_load(self) -> None:
        """Register the group."""
        self.bot.tree.add_command(self.group)

    async def cog_unload(self) -> None:
        """Remove the group."""
        self.bot.tree.remove_command(self.group.name)
