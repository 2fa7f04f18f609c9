"""/history and /show: a member's own jobs, and one job's images again (moderators: anyone's).

Parse, call ``bot.members.History``, render. The page buttons survive restarts (``_views``); /show
fetches the images again (``_show``) after acknowledging, since that may take a few seconds.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import InvalidRequest
from bot.guilds import SHOW_COSTS
from bot.i18n import texts
from bot.members import HistoryEntry
from cogs.history._render import no_result_key, result_url, show_caption, status_word
from cogs.history._show import gather
from cogs.history._views import PageButton, may_see, show_page

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


class HistoryCog(commands.Cog):
    """Members' jobs."""

    def __init__(self, bot: EggBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Register the persistent page buttons."""
        self.bot.add_dynamic_items(PageButton)

    async def cog_unload(self) -> None:
        """Forget the page buttons."""
        self.bot.remove_dynamic_items(PageButton)

    @app_commands.command(name="history")
    @app_commands.guild_only()
    @app_commands.describe(member="Moderators: whose jobs to list (default: yours)")
    async def history(self, interaction: discord.Interaction, member: discord.User | None = None) -> None:
        """List your recent jobs on this server, newest first."""
        await show_page(interaction, self.bot, member.id if member is not None else interaction.user.id)

    @app_commands.command(name="show")
    @app_commands.guild_only()
    @app_commands.describe(job='The job\'s number, as in "job #12"')
    async def show(self, interaction: discord.Interaction, job: app_commands.Range[int, 1, 2**53]) -> None:
        """Show a job's images again (yours, or anyone's for moderators)."""
        guild_id = interaction.guild_id
        entry = await self.bot.history.job(guild_id, job)
        if entry is None:
            raise InvalidRequest(key="show.unknown", job=job)
        task = entry.task
        if not may_see(interaction, task.member_id):
            raise InvalidRequest(key="show.not_yours", job=job)
        why = no_result_key(task)
        if why is not None:
            t = texts(str(interaction.locale))
            raise InvalidRequest(key=why, job=job, status=status_word(t, task.status), channel=task.channel_id)
        # A job sent by DM stays private; any other result was public already, so it is shown to the channel.
        await interaction.response.defer(ephemeral=task.hidden, thinking=True)
        await self._post(interaction, entry)

    async def _post(self, interaction: discord.Interaction, entry: HistoryEntry) -> None:
        """Post the job's images with their caption, or a link to its post when they cannot be attached."""
        task, t = entry.task, texts(str(interaction.locale))
        guild = interaction.guild
        limit = min(interaction.filesize_limit, guild.filesize_limit) if guild else interaction.filesize_limit
        found = await gather(self.bot, task, limit)
        url = result_url(task)
        if found.empty:
            log.info("/show: job %s has no images left to attach", task.id)
            key = "show.link_only" if url and found.post_there else "show.gone"
            await interaction.followup.send(t(key, job=task.id, url=url or ""), allowed_mentions=NO_MENTIONS)
            return
        show_cost = task.hidden or await self.bot.guild_settings.get(task.guild_id, SHOW_COSTS)
        caption = show_caption(t, entry, show_cost=show_cost)
        if found.too_large:
            caption += "\n" + t("show.too_large", count=found.too_large)
        for n, batch in enumerate(found.batches):
            files = [discord.File(io.BytesIO(image.data), filename=image.filename) for image in batch]
            await interaction.followup.send(
                caption if n == 0 else t("show.continued", job=task.id),
                files=files,
                allowed_mentions=NO_MENTIONS,
                ephemeral=task.hidden,
            )
