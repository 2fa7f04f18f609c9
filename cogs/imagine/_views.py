"""Buttons under a result: reroll the prompt, or delete the post. They survive restarts."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.tasks import ImagineRequest, TaskRecord
from bot.tree import report, respond
from cogs.imagine._flow import start_job

if TYPE_CHECKING:
    from bot.app import EggBot

log = logging.getLogger(__name__)


class RerollButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"egg:reroll:(?P<task_id>\d+)"):
    """Run the same prompt and options again, for whoever clicks (on their own quota)."""

    def __init__(self, task_id: int) -> None:
        super().__init__(
            discord.ui.Button(label="Reroll", emoji="🔁", style=discord.ButtonStyle.secondary, custom_id=f"egg:reroll:{task_id}")
        )
        self.task_id = task_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> RerollButton:
        return cls(int(match["task_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: EggBot = interaction.client  # type: ignore[assignment]
        try:
            original = await bot.task_store.get(self.task_id)
            if original is None:
                await respond(interaction, "That job is no longer known to me; run /imagine again.")
                return
            request = ImagineRequest(
                guild_id=interaction.guild_id,
                channel_id=interaction.channel_id or original.channel_id,
                member_id=interaction.user.id,
                prompt=original.prompt,
                negative_prompt=original.negative_prompt,
                aspect_ratio=original.aspect_ratio,
                count=original.count,
                resolution=original.resolution,
                reference_urls=original.reference_urls,
                interaction_id=interaction.id,
            )
            await start_job(bot, interaction, request)
        except Exception as exc:  # noqa: BLE001 - buttons bypass the tree's handler
            await report(interaction, exc)


class DeleteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"egg:delete:(?P<member_id>\d+)"):
    """Delete the post; only the member who asked for it, or someone who can manage messages."""

    def __init__(self, member_id: int) -> None:
        super().__init__(
            discord.ui.Button(label="Delete", emoji="🗑️", style=discord.ButtonStyle.danger, custom_id=f"egg:delete:{member_id}")
        )
        self.member_id = member_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> DeleteButton:
        return cls(int(match["member_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        permissions = interaction.permissions
        if interaction.user.id != self.member_id and not permissions.manage_messages:
            await respond(interaction, "Only the member who asked for these images (or a moderator) can delete them.")
            return
        try:
            await interaction.response.defer()
            if interaction.message is not None:
                await interaction.message.delete()
        except discord.HTTPException as exc:
            await report(interaction, exc)


def result_view(task: TaskRecord) -> discord.ui.View:
    """The buttons under a task's images."""
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(task.id))
    view.add_item(DeleteButton(task.member_id))
    return view
