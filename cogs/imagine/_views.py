"""Buttons under a result: Reroll, the ways to build on it (``_actions``) and Delete. They survive restarts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.app.locales import for_member
from bot.app.replies import respond
from bot.guilds import SHOW_COSTS
from bot.lifecycle.model import OriginKind, TaskRecord
from bot.lifecycle.remakes import remake
from cogs.imagine._actions import asker, result_actions
from cogs.imagine._buttons import IdButton, managed_task, may_manage
from cogs.imagine._flow import start_job
from cogs.imagine._names import task_of
from cogs.imagine._render import batch_text

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)


NOT_YOURS_TO_DELETE = "job.answers.delete_not_yours"


class RerollButton(IdButton, prefix="reroll"):
    """Run the same prompt and options again, for whoever clicks (on their own quota); it links back to this job."""

    label_key, button_emoji = "job.buttons.reroll", "🔁"

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        t = for_member(interaction)
        original = await bot.task_store.get(self.ident)
        if original is None:
            await respond(interaction, t("job.answers.reroll_unknown"))
            return
        references = await bot.remakes.references(original)  # a picked image's link is fetched afresh
        if not bot.references.usable(references):  # Discord's links last about a day
            await respond(interaction, t("job.answers.reroll_expired", id=original.id))
            return
        request = remake(original, OriginKind.REROLL, asker(interaction), references=references)
        await start_job(bot, interaction, request)


class DeleteButton(IdButton, prefix="delete"):
    """Delete the post (under results posted before jobs were deleted whole; the id is the member's)."""

    label_key, button_emoji, button_style = "job.buttons.delete", "🗑️", discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        if not may_manage(interaction, self.ident):
            await respond(interaction, for_member(interaction)(NOT_YOURS_TO_DELETE))
            return
        await interaction.response.defer()
        if interaction.message is not None:
            await interaction.message.delete()


class DeleteJobButton(IdButton, prefix="deljob"):
    """Delete everything the job left: each message of its result, and its status message if still there."""

    label_key, button_emoji, button_style = "job.buttons.delete", "🗑️", discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        task = await managed_task(interaction, bot, self.ident, NOT_YOURS_TO_DELETE)
        if task is None:
            return
        await interaction.response.defer()
        clicked = interaction.message.id if interaction.message is not None else None
        for message_id in task.result_message_ids:
            if message_id != clicked:
                await _delete(interaction, message_id)
        await remove_status(interaction, bot, task)
        if interaction.message is not None:
            await interaction.message.delete()


async def _delete(interaction: discord.Interaction, message_id: int) -> None:
    """Delete one of the bot's messages in this channel; one already gone is fine."""
    channel = interaction.channel
    if channel is None:
        return
    try:
        await discord.PartialMessage(channel=channel, id=message_id).delete()  # type: ignore[arg-type]
    except discord.NotFound:
        pass
    except discord.HTTPException as exc:
        log.info("message %s not deleted: %s", message_id, exc.status)


async def remove_status(interaction: discord.Interaction, bot: EggBot, task: TaskRecord) -> None:
    """Delete the job's status message if it is still there, and record that it is gone."""
    if task.status_message_id is None or task.channel_id != interaction.channel_id:
        return
    await _delete(interaction, task.status_message_id)
    await bot.task_store.update(task.id, status_message_id=None)


class DeletePartButton(IdButton, prefix="delpart"):
    """Under a post shared by several jobs: take one job's images and caption out of it (the whole post
    goes with the last one), leaving the other members' parts."""

    label_key, button_emoji, button_style = "job.buttons.delete", "🗑️", discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        task = await managed_task(interaction, bot, self.ident, NOT_YOURS_TO_DELETE)
        if task is None:
            return
        message = interaction.message
        if message is None:
            return
        kept = [a for a in message.attachments if task_of(a.filename) != task.id]
        others = [await bot.task_store.get(i) for i in dict.fromkeys(task_of(a.filename) for a in kept) if i]
        rest = [other for other in others if other is not None]
        if not rest:
            await interaction.response.defer()
            await message.delete()
        else:
            show_cost = interaction.guild_id is None or await bot.guild_settings.get(interaction.guild_id, SHOW_COSTS)
            await interaction.response.edit_message(
                content=batch_text(rest, show_cost),
                attachments=kept,
                view=batch_view(rest),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        await remove_status(interaction, bot, task)


def _label(prompt: str, limit: int) -> str:
    """A button's label from a prompt: plain text on one line (labels show no markdown)."""
    flat = " ".join(prompt.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def batch_view(tasks: list[TaskRecord]) -> discord.ui.View:
    """Under a message that carries several members' results: per job, Reroll and Delete, named by its prompt.

    Two jobs a row: ten jobs (a message's ten images) fill Discord's five rows.
    """
    view = discord.ui.View(timeout=None)
    for n, task in enumerate(tasks):
        view.add_item(RerollButton(task.id, label=_label(task.prompt, 40), row=n // 2))
        view.add_item(DeletePartButton(task.id, label=_label(task.prompt, 25), row=n // 2))
    return view


def result_view(task: TaskRecord) -> discord.ui.View:
    """The buttons under a task's images, labelled in its member's language: a row about its images (see
    ``result_actions``), then Reroll, Remix, Details and Delete. At most 4 + 4 buttons, well within
    Discord's 5 rows of 5."""
    images, job = result_actions(task)
    view = discord.ui.View(timeout=None)
    for item in images:
        view.add_item(item)
    view.add_item(RerollButton(task.id, row=1, locale=task.locale))
    for item in job:
        view.add_item(item)
    view.add_item(DeleteJobButton(task.id, row=1, locale=task.locale))
    return view
