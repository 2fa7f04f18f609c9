"""/help: what the bot does here, the member's budget in images, the commands they can use, and for
moderators their commands and the first steps to set the bot up (with what is set now).

The commands listed are read from the command tree, so a command that is not loaded is never
offered; a moderator command is one with default member permissions, shown to those who have them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.checks import is_moderator, role_ids
from bot.guilds import MOD_LOG_CHANNEL
from bot.i18n import texts
from bot.members import images_left
from cogs.help._render import Listed, SetupState, help_text

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)


def listed(
    interaction: discord.Interaction, tree: app_commands.CommandTree[EggBot]
) -> tuple[list[Listed], list[Listed]]:
    """The commands the member may use, split into everyone's and moderators' (by default permissions)."""
    everyone: list[Listed] = []
    moderators: list[Listed] = []
    for command in sorted(tree.get_commands(type=discord.AppCommandType.chat_input), key=lambda c: c.name):
        if not isinstance(command, app_commands.Command | app_commands.Group):
            continue
        needed = command.default_permissions
        item = Listed(command.name, command.description)
        if needed is None or needed.value == 0:
            everyone.append(item)
        elif interaction.permissions >= needed:
            moderators.append(item)
    return everyone, moderators


class HelpCog(commands.Cog):
    """Onboarding."""

    def __init__(self, bot: EggBot) -> None:
        self.bot = bot

    @app_commands.command(name="help")
    @app_commands.guild_only()
    async def help(self, interaction: discord.Interaction) -> None:
        """What I do here, how many images you have left, and the commands you can use."""
        guild_id = interaction.guild_id
        balance = await self.bot.ledger.balance(guild_id, interaction.user.id, role_ids(interaction.user))
        budget = images_left(balance, await self.bot.ledger.unit_price())
        everyone, moderators = listed(interaction, self.bot.tree)
        setup = await self._setup_state(guild_id) if is_moderator(interaction) else None
        server = interaction.guild.name if interaction.guild is not None else ""
        embed = discord.Embed(
            title=texts(str(interaction.locale))("help.title", server=discord.utils.escape_markdown(server)),
            description=help_text(texts(str(interaction.locale)), budget, everyone, moderators, setup),
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    async def _setup_state(self, guild_id: int | None) -> SetupState:
        """What a moderator has set up so far: the default budget, the prompt rules, the mod-log channel."""
        policy = await self.bot.ledger.policy(guild_id)
        rules = await self.bot.policy.overview(guild_id or 0)
        return SetupState(
            limit=policy.member_limit,
            period=policy.period,
            rules=len(rules.terms) + len(rules.patterns),
            channels=len(rules.channels),
            modlog=await self.bot.guild_settings.get(guild_id, MOD_LOG_CHANNEL),
        )
