"""Buttons under a status message: Cancel while a job waits, Hide while it runs. They survive restarts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.app.replies import respond
from bot.lifecycle.ports import RUNNING_PHASES, Phase, Progress
from cogs.imagine._buttons import IdButton, managed_task
from cogs.imagine._render import status_text

if TYPE_CHECKING:
    from bot.app.client import EggBot


class CancelButton(IdButton, prefix="cancel"):
    """Withdraw a job that is still waiting in line; it costs nothing."""

    button_label, button_emoji = "Cancel", "✖️"

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        task = await managed_task(
            interaction, bot, self.ident, "Only the member who asked for this job (or a moderator) can cancel it."
        )
        if task is None:
            return
        if not await bot.jobs.withdraw(task.id):
            current = await bot.task_store.get(task.id)
            if current is not None and current.is_terminal:
                await respond(interaction, "This job has already ended; there is nothing left to cancel.")
            else:
                await respond(
                    interaction,
                    "This job has already started, so it can't be cancelled; it counts toward your budget at what "
                    "the image service charges for it. Use **Hide** to have the images sent to you privately instead.",
                )
            return
        cancelled = await bot.task_store.get(task.id)
        assert cancelled is not None
        progress = Progress(Phase.CANCELLED, (discord.utils.utcnow() - cancelled.created_at).total_seconds())
        await interaction.response.edit_message(content=status_text(cancelled, progress), view=None)


class HideButton(IdButton, prefix="hide"):
    """Keep a running job out of the channel: its images go to the member by DM (still charged)."""

    button_label, button_emoji = "Hide", "🙈"

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        task = await managed_task(
            interaction, bot, self.ident, "Only the member who asked for this job (or a moderator) can hide it."
        )
        if task is None:
            return
        if not await bot.jobs.hide(task.id):
            await respond(interaction, "This job has already finished.")
            return
        await respond(
            interaction,
            "🙈 Hidden from the channel. I'll send you the images by direct message when they're ready "
            "(if your direct messages are closed, I'll post them here instead). It still counts toward your budget.",
        )
        if interaction.message is not None:
            await interaction.message.delete()


def status_view(task_id: int, phase: Phase) -> discord.ui.View | None:
    """The buttons under a status message: Cancel while waiting, Hide while running, none after."""
    if phase is Phase.QUEUED:
        item: discord.ui.Item[Any] = CancelButton(task_id)
    elif phase in RUNNING_PHASES:
        item = HideButton(task_id)
    else:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(item)
    return view
