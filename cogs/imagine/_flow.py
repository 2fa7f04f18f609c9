"""Starting a job from an interaction: check, record, acknowledge, hand to the tracker."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord

from bot.app.checks import role_ids
from bot.app.interactions import answers_of
from bot.errors import NotAllowedHere
from bot.i18n import Text
from bot.lifecycle.intake import Admission, DatabaseBusy
from bot.lifecycle.model import ImagineRequest, TaskRecord
from bot.lifecycle.ports import Phase, Progress
from cogs.imagine._render import status_text
from cogs.imagine._results import origin_line, with_line
from cogs.imagine._status import status_view

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

RECORD_WITHIN = 2.0  # seconds to record a job before refusing it: Discord wants an answer within 3


def parent_channel(interaction: discord.Interaction) -> int | None:
    """The channel a thread belongs to (a server's channel rules count a thread as its channel)."""
    channel = interaction.channel
    return channel.parent_id if isinstance(channel, discord.Thread) else None


def check_place(bot: EggBot, interaction: discord.Interaction) -> None:
    """Refuse DMs (unless enabled) and channels where the bot could not post the result."""
    if interaction.guild_id is None:
        if not bot.settings.allow_dms:
            raise NotAllowedHere(key="errors.dm_refused")
        return
    perms = interaction.app_permissions
    in_thread = isinstance(interaction.channel, discord.Thread)
    can_send = perms.send_messages_in_threads if in_thread else perms.send_messages
    missing = [
        name
        for name, ok in (
            ("view_channel", perms.view_channel),
            ("send_messages_in_threads" if in_thread else "send_messages", can_send),
            ("attach_files", perms.attach_files),
        )
        if not ok
    ]
    if missing:
        names = tuple(Text(f"permissions.{name}") for name in missing)
        raise NotAllowedHere(key="errors.cannot_post_here", permissions=names)


async def start_job(bot: EggBot, interaction: discord.Interaction, request: ImagineRequest) -> None:
    """Record the job and answer the interaction at once with its status message."""
    check_place(bot, interaction)
    with bot.foreground.answering():  # background work waits until the member has an answer
        task = await _record(bot, request, role_ids(interaction.user))
        interaction.extras["task_id"] = task.id
        try:
            response = await interaction.response.send_message(
                with_line(status_text(task, Progress(Phase.QUEUED, 0.0)), await origin_line(bot, task)),
                view=status_view(task, Phase.QUEUED) or discord.utils.MISSING,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except BaseException:
            # The member never saw an acknowledgement: withdraw (releasing the hold) rather than run a
            # job they may well ask for again.
            await asyncio.shield(bot.jobs.withdraw(task.id))
            raise
    try:
        answers_of(bot).remember(task.id, interaction)  # its status edits go through this interaction first
        message_id = response.message_id
        if message_id is None:
            message_id = (await interaction.original_response()).id
        await bot.jobs.attach_status_message(task.id, message_id)
    finally:
        bot.tracker.enqueue(task)  # acknowledged: the job runs, status message or not


async def _record(bot: EggBot, request: ImagineRequest, role_ids: list[int]) -> TaskRecord:
    """Record the job, or refuse it politely if the database cannot take it in time (it is locked)."""
    admission = Admission()
    creating = asyncio.ensure_future(bot.jobs.create(request, role_ids=role_ids, admission=admission))
    try:
        done, _ = await asyncio.wait({creating}, timeout=RECORD_WITHIN)
    except asyncio.CancelledError:
        creating.cancel()  # as if awaited directly: create() takes back whatever it recorded
        raise
    if not done and admission.give_up():
        creating.add_done_callback(_forget)  # it ends in DatabaseBusy, or a lock error, once the lock clears
        log.warning("could not record a job within %.1fs (database busy); refused it", RECORD_WITHIN)
        raise DatabaseBusy
    return await creating


def _forget(creating: asyncio.Future[TaskRecord]) -> None:
    if not creating.cancelled() and not isinstance(creating.exception(), DatabaseBusy | None):
        log.warning("a refused job's transaction failed too: %r", creating.exception())
