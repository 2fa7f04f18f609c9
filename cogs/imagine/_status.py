"""Buttons under a status message: Cancel while a job waits, Hide while it runs. They survive restarts."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.publishing import RUNNING_PHASES, Phase, Progress
from bot.tree import report, respond
from cogs.imagine._render import status_text

if TYPE_CHECKING:
    from bot.app import EggBot


def _may_manage(interaction: discord.Interaction, owner_id: int) -> bool:
    return interaction.user.id == owner_id or interaction.permissions.manage_messages


class CancelButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"egg:cancel:(?P<task_id>\d+)"):
    """Withdraw a job that is still waiting in line; it costs nothing."""

    def __init__(self, task_id: int) -> None:
        super().__init__(
            discord.ui.Button(label="Cancel", emoji="✖️", style=discord.ButtonStyle.secondary, custom_id=f"egg:cancel:{task_id}")
        )
        self.task_id = task_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> CancelButton:
        return cls(int(match["task_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: EggBot = interaction.client  # type: ignore[assignment]
        try:
            task = await bot.task_store.get(self.task_id)
            if task is None or not _may_manage(interaction, task.member_id):
                await respond(interaction, "Only the member who asked for this job (or a moderator) can cancel it.")
                return
            if not await bot.jobs.withdraw(task.id):
                await respond(
                    interaction,
                    "This job has already started, so it can't be cancelled: it will be charged at its real cost. "
                    "Use **Hide** to have the images sent to you privately instead.",
                )
                return
            cancelled = await bot.task_store.get(task.id)
            assert cancelled is not None
            elapsed = (discord.utils.utcnow() - cancelled.created_at).total_seconds()
            progress = Progress(Phase.CANCELLED, elapsed)
            await interaction.response.edit_message(content=status_text(cancelled, progress), view=None)
        except Exception as exc:  # noqa: BLE001 - buttons bypass the tree's handler
            await report(interaction, exc)


class HideButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"egg:hide:(?P<task_id>\d+)"):
    """Keep a running job out of the channel: its images go to the member by DM (still charged)."""

    def __init__(self, task_id: int) -> None:
        super().__init__(
            discord.ui.Button(label="Hide", emoji="🙈", style=discord.ButtonStyle.secondary, custom_id=f"egg:hide:{task_id}")
        )
        self.task_id = task_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> HideButton:
        return cls(int(match["task_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: EggBot = interaction.client  # type: ignore[assignment]
        try:
            task = await bot.task_store.get(self.task_id)
            if task is None or not _may_manage(interaction, task.member_id):
                await respond(interaction, "Only the member who asked for this job (or a moderator) can hide it.")
                return
            if not await bot.jobs.hide(task.id):
                await respond(interaction, "This job has already finished.")
                return
            await respond(
                interaction,
                "Hidden. The images will be sent to you by direct message when they are ready; "
                "the job is still charged at its real cost.",
            )
            if interaction.message is not None:
                await interaction.message.delete()
        except Exception as exc:  # noqa: BLE001 - buttons bypass the tree's handler
            await report(interaction, exc)


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
