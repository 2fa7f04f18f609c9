"""Buttons under a status message: Cancel while a job waits, Hide while it runs. They survive restarts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.app.locales import for_member
from bot.app.replies import respond
from bot.lifecycle.model import TaskRecord
from bot.lifecycle.ports import RUNNING_PHASES, Phase, Progress
from cogs.imagine._buttons import IdButton, managed_task
from cogs.imagine._render import status_text
from cogs.imagine._results import origin_line, with_line

if TYPE_CHECKING:
    from bot.app.client import EggBot


class CancelButton(IdButton, prefix="cancel"):
    """Withdraw a job that is still waiting in line; it costs nothing."""

    label_key, button_emoji = "job.buttons.cancel", "✖️"

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        task = await managed_task(interaction, bot, self.ident, "job.answers.cancel_not_yours")
        if task is None:
            return
        if not await bot.jobs.withdraw(task.id):
            current = await bot.task_store.get(task.id)
            ended = current is not None and current.is_terminal
            answer = "job.answers.cancel_ended" if ended else "job.answers.cancel_started"
            await respond(interaction, for_member(interaction)(answer))
            return
        cancelled = await bot.task_store.get(task.id)
        assert cancelled is not None
        progress = Progress(Phase.CANCELLED, (discord.utils.utcnow() - cancelled.created_at).total_seconds())
        content = with_line(status_text(cancelled, progress), await origin_line(bot, cancelled))
        await interaction.response.edit_message(content=content, view=None)


class HideButton(IdButton, prefix="hide"):
    """Keep a running job out of the channel: its images go to the member by DM (still charged)."""

    label_key, button_emoji = "job.buttons.hide", "🙈"

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        task = await managed_task(interaction, bot, self.ident, "job.answers.hide_not_yours")
        if task is None:
            return
        t = for_member(interaction)
        if not await bot.jobs.hide(task.id):
            await respond(interaction, t("job.answers.hide_finished"))
            return
        await respond(interaction, t("job.answers.hidden"))
        if interaction.message is not None:
            await interaction.message.delete()


def status_view(task: TaskRecord, phase: Phase) -> discord.ui.View | None:
    """The buttons under a status message (labelled in its member's language): Cancel while waiting, Hide
    while running, none after."""
    if phase is Phase.QUEUED:
        item: discord.ui.Item[Any] = CancelButton(task.id, locale=task.locale)
    elif phase in RUNNING_PHASES:
        item = HideButton(task.id, locale=task.locale)
    else:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(item)
    return view
