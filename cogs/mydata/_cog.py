"""/mydata: a member sees what the bot keeps about them in this server, and deletes it.

Parse, call ``bot.members.MemberData``, render; the erase itself waits for a button press
(``cogs._shared.erasure``), shared with the moderators' ``/policy forget``.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.locales import for_member, for_server
from cogs._shared.erasure import ConfirmErase
from cogs.mydata._render import FILENAME, confirm_text, prompts_file, show_text

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)


def _guild(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:  # guild_only: Discord does not offer it elsewhere
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


async def ask_to_erase(bot: EggBot, interaction: discord.Interaction, member_id: int, *, by_moderator: bool) -> None:
    """Say what would be erased and wait for the button (or say there is nothing to erase)."""
    guild = _guild(interaction)
    record = await bot.members.record(guild, member_id)
    t = for_server(interaction) if by_moderator else for_member(interaction)
    whose = member_id if by_moderator else None
    if not record.erasable and not record.settings:
        member = {"member": f"<@{member_id}>"} if by_moderator else {}
        kind = "member" if by_moderator else "own"
        if record.unfinished:
            text = t(f"mydata.running_{kind}", count=record.unfinished, **member)
        else:
            text = t(f"mydata.nothing_{kind}", **member)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
        return
    view = ConfirmErase(
        bot, t, owner_id=interaction.user.id, guild_id=guild, member_id=member_id, by_moderator=by_moderator
    )
    await interaction.response.send_message(
        confirm_text(t, record, whose), ephemeral=True, view=view, allowed_mentions=discord.AllowedMentions.none()
    )
    view.origin = interaction


@app_commands.guild_only()
class MyDataGroup(app_commands.Group, name="mydata", description="What I keep about you on this server"):
    """Every member's own data; nothing here reaches anyone else."""

    def __init__(self, bot: EggBot) -> None:
        super().__init__()
        self.bot = bot

    @app_commands.command(name="show")
    async def show(self, interaction: discord.Interaction) -> None:
        """See what I keep about you on this server: jobs, prompts, result links, spend, settings."""
        record = await self.bot.members.record(_guild(interaction), interaction.user.id)
        t = for_member(interaction)
        files = []
        if record.tasks:
            data = io.BytesIO(prompts_file(t, record).encode())
            files.append(discord.File(data, filename=FILENAME, description=t("mydata.file_description")))
        await interaction.response.send_message(
            show_text(t, record),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
            suppress_embeds=True,
            files=files,
        )

    @app_commands.command(name="delete")
    async def delete(self, interaction: discord.Interaction) -> None:
        """Delete your prompts, result links and settings on this server (asks first)."""
        await ask_to_erase(self.bot, interaction, interaction.user.id, by_moderator=False)


class MyDataCog(commands.Cog):
    """Members' own data."""

    def __init__(self, bot: EggBot) -> None:
        self.bot = bot
        self.group = MyDataGroup(bot)

    async def cog_load(self) -> None:
        """Register the group."""
        self.bot.tree.add_command(self.group)

    async def cog_unload(self) -> None:
        """Remove the group."""
        self.bot.tree.remove_command(self.group.name)
