"""Buttons under a result: reroll the prompt, or delete the post. They survive restarts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.app.replies import respond
from bot.lifecycle.model import ImagineRequest, TaskRecord
from cogs.imagine._buttons import IdButton, may_manage
from cogs.imagine._flow import parent_channel, start_job

if TYPE_CHECKING:
    from bot.app.client import EggBot


class RerollButton(IdButton, prefix="reroll"):
    """Run the same prompt and options again, for whoever clicks (on their own quota)."""

    button_label, button_emoji = "Reroll", "🔁"

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        original = await bot.task_store.get(self.ident)
        if original is None:
            await respond(interaction, "That job is no longer known to me; run /imagine again.")
            return
        if not bot.references.usable(original.reference_urls):  # Discord's links last about a day
            await respond(
                interaction,
                f"The reference images of job #{original.id} have expired on Discord, so I can't reroll it. "
                "Run /imagine again and attach them. Nothing was charged.",
            )
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
            upload_limit=interaction.filesize_limit,
            parent_channel_id=parent_channel(interaction),
        )
        await start_job(bot, interaction, request)


class DeleteButton(IdButton, prefix="delete"):
    """Delete the post; only the member who asked for it, or someone who can manage messages."""

    button_label, button_emoji, button_style = "Delete", "🗑️", discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        if not may_manage(interaction, self.ident):
            await respond(interaction, "Only the member who asked for these images (or a moderator) can delete them.")
            return
        await interaction.response.defer()
        if interaction.message is not None:
            await interaction.message.delete()


def batch_view(tasks: list[TaskRecord]) -> discord.ui.View:
    """A Reroll button per job under a message that carries several members' results."""
    view = discord.ui.View(timeout=None)
    for task in tasks:
        view.add_item(RerollButton(task.id, label=f"Reroll #{task.id}"))
    return view


def result_view(task: TaskRecord) -> discord.ui.View:
    """The buttons under a task's images."""
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(task.id))
    view.add_item(DeleteButton(task.member_id))
    return view
