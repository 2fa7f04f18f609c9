"""The Discord side of the tracker: edits status messages and posts results as channel messages."""

from __future__ import annotations

import io
import logging
import mimetypes
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot.app.interactions import answers_of
from bot.eggapi import DownloadedImage
from bot.guilds import SHOW_COSTS
from bot.i18n import Text
from bot.lifecycle.model import TaskRecord
from bot.lifecycle.ports import DestinationGone, Phase, PostedImages, Progress, ResultPart
from cogs.imagine import (
    IMAGE_NAME,
    batch_text,
    batch_view,
    continued_text,
    failure_status_text,
    failure_text,
    image_stem,
    links_text,
    origin_line,
    rerouted_note,
    result_text,
    result_view,
    stale_text,
    status_text,
    status_view,
    with_line,
)

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

# Discord's refusals that mean the destination cannot take posts, and the catalogue key of why.
GONE_CODES = {
    10003: "delivery.gone.channel_deleted",
    50001: "delivery.gone.channel_hidden",
    50007: "delivery.gone.dms_closed",
    50013: "delivery.gone.no_permission",
}
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
MAX_FILES_PER_MESSAGE = 10  # Discord's attachments per message
MAX_MENTIONS = 100  # allowed_mentions.users holds at most this many ids
HISTORY_LIMIT = 1000  # messages searched (since the task finished) for an earlier post before repeating one
CLOCK_SKEW = timedelta(minutes=2)  # the history search starts this long before the task finished
FINAL_PHASES = frozenset({Phase.DONE, Phase.FAILED, Phase.CANCELLED, Phase.UNDELIVERABLE})


def _extension(image: DownloadedImage) -> str:
    if "." in image.filename:
        return image.filename.rsplit(".", 1)[1].lower()
    guessed = mimetypes.guess_extension(image.content_type.split(";")[0].strip()) or ".png"
    return guessed.lstrip(".")


def _file(image: DownloadedImage, stem: str) -> discord.File:
    return discord.File(io.BytesIO(image.data), filename=f"{stem}.{_extension(image)}")


class DiscordPublisher:
    """Implements ``bot.lifecycle.ports.Publisher``: results are channel messages, never interaction followups."""

    max_files_per_message = MAX_FILES_PER_MESSAGE

    def __init__(self, bot: EggBot) -> None:
        self._bot = bot

    def _channel(self, task: TaskRecord) -> discord.abc.Messageable:
        channel = self._bot.get_channel(task.channel_id)
        if isinstance(channel, discord.abc.Messageable):
            return channel
        return self._bot.get_partial_messageable(task.channel_id, guild_id=task.guild_id)

    def _mention(self, *tasks: TaskRecord) -> discord.AllowedMentions:
        """Ping only the members the message is for, whatever a prompt says.

        Each member once: Discord's schema wants unique ids, at most 100 of them.
        """
        members = list(dict.fromkeys(task.member_id for task in tasks))[:MAX_MENTIONS]
        return discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(m) for m in members])

    async def _result_mention(self, *tasks: TaskRecord) -> discord.AllowedMentions:
        """Like ``_mention``, leaving out members who asked in /settings not to be pinged by their results."""
        wanted = [task for task in tasks if await self._bot.preferences.mention(task.guild_id, task.member_id)]
        return self._mention(*wanted)

    async def _member(self, task: TaskRecord) -> discord.User:
        return self._bot.get_user(task.member_id) or await self._bot.fetch_user(task.member_id)

    async def _send(self, destination: discord.abc.Messageable, content: str, **options: Any) -> discord.Message:
        """Post a result; a channel that cannot take it raises DestinationGone, anything else is retried."""
        try:
            return await destination.send(content, **options)
        except discord.HTTPException as exc:
            if exc.code in GONE_CODES:
                raise DestinationGone(GONE_CODES[exc.code]) from exc
            raise

    async def show_progress(self, task: TaskRecord, progress: Progress) -> None:
        """Edit the status message; a vanished message is not an error."""
        if task.status_message_id is None:
            return
        await self._edit_status(
            task,
            content=with_line(status_text(task, progress), await origin_line(self._bot, task)),
            view=status_view(task, progress.phase),
            allowed_mentions=discord.AllowedMentions.none(),
            final=progress.phase in FINAL_PHASES,
        )

    async def _edit_status(self, task: TaskRecord, *, final: bool, **fields: Any) -> bool:
        """Edit the status message; False if it cannot be (gone, or neither token may edit it).

        Through the interaction that answered the job while its token lasts, else as a channel message.
        """
        assert task.status_message_id is not None
        answers = answers_of(self._bot)
        interaction = answers.get(task.id)
        if interaction is not None:
            try:
                await interaction.edit_original_response(**fields)
            except discord.HTTPException as exc:  # the token ran out early, or the message is gone
                log.info(
                    "task %s: status edit through the interaction failed (%s); editing the message", task.id, exc.code
                )
                answers.forget(task.id)
            else:
                if final:
                    answers.forget(task.id)
                return True
        channel = self._channel(task)
        message = discord.PartialMessage(channel=channel, id=task.status_message_id)  # type: ignore[arg-type]
        try:
            await message.edit(**fields)
        except (discord.NotFound, discord.Forbidden) as exc:
            log.info("task %s: status message %s cannot be edited: %s", task.id, task.status_message_id, exc.text)
            return False
        return True

    async def remove_status(self, task: TaskRecord) -> bool:
        """Delete the status message (the result is posted); True once it is gone, False to try again later.

        The bot's own message, so the bot token may delete it after the interaction's token ran out.
        """
        if task.status_message_id is None:
            return True
        answers = answers_of(self._bot)
        interaction = answers.get(task.id)
        answers.forget(task.id)
        if interaction is not None:
            try:
                await interaction.delete_original_response()
                return True
            except discord.NotFound:
                return True
            except discord.HTTPException as exc:
                log.info("task %s: status removal through the interaction failed (%s)", task.id, exc.code)
        message = discord.PartialMessage(channel=self._channel(task), id=task.status_message_id)  # type: ignore[arg-type]
        try:
            await message.delete()
        except (discord.NotFound, discord.Forbidden) as exc:  # gone already, or never ours to remove now
            log.info("task %s: status message %s not removed: %s", task.id, task.status_message_id, exc.text)
        except discord.HTTPException as exc:
            log.warning("task %s: status message removal failed (%s); retried at the next start", task.id, exc.status)
            return False
        return True

    def upload_limit(self, task: TaskRecord) -> int:
        """Bytes one message may carry where this task's result goes.

        Results are posted with the bot's token, so the guild's limit (from its boost tier)
        applies, never the member's Nitro limit that the interaction advertises; the smaller
        of the two is taken, since the interaction's is never below what the channel accepts.
        """
        if task.hidden or task.guild_id is None:
            return DEFAULT_UPLOAD_LIMIT
        guild = self._bot.get_guild(task.guild_id)
        limit = guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT
        return min(limit, task.upload_limit) if task.upload_limit else limit

    async def _destination(self, task: TaskRecord) -> discord.abc.Messageable:
        if not task.hidden:
            return self._channel(task)
        try:
            return await (await self._member(task)).create_dm()
        except (discord.Forbidden, discord.NotFound) as exc:  # anything else is worth another try
            raise DestinationGone("delivery.gone.dms_unreachable") from exc

    async def deliver(self, task: TaskRecord, part: ResultPart) -> int:
        """Post one part of the result; its nonce makes a repeat post nothing new (for a few minutes)."""
        destination = await self._destination(task)
        if part.number == 1:
            note = rerouted_note(task)
            caption = with_line(result_text(task, await self._show_cost(task)), await origin_line(self._bot, task))
            content = caption if note is None else f"{caption}\n{note}"
        else:
            content = continued_text(task, part.number, part.total)
        if part.links:
            content += "\n" + links_text(task, [task.output_urls[i] for i in part.links])
        message = await self._send(
            destination,
            content,
            files=[_file(image, image_stem(task.id, i)) for i, image in zip(part.indexes, part.images, strict=True)],
            view=result_view(task) if part.number == 1 and not task.hidden else discord.utils.MISSING,
            nonce=part.key,  # the post key is Discord's message nonce; enforce_nonce is always sent
            allowed_mentions=await self._result_mention(task),
        )
        return message.id

    async def find_posted(self, tasks: list[TaskRecord], since: datetime) -> PostedImages:
        """Which of these tasks' images the bot posted since ``since``, by message, or {}.

        Only the bot's own messages count, and an image is recognised by its file name
        (``eggbot-<task>-<n>``), which the bot alone chooses; captions are ignored, since they
        quote prompts. Discord's nonce protects a repeat only for a few minutes, this after longer.
        """
        me = self._bot.user.id if self._bot.user else None
        wanted = {task.id for task in tasks}
        found: PostedImages = {}
        after = discord.Object(discord.utils.time_snowflake(since - CLOCK_SKEW))
        try:
            destination = await self._destination(tasks[0])
            async for message in destination.history(limit=HISTORY_LIMIT, after=after, oldest_first=True):
                if message.author.id != me:
                    continue
                for attachment in message.attachments:
                    match = IMAGE_NAME.match(attachment.filename)
                    if match and int(match["task"]) in wanted:
                        found[(int(match["task"]), int(match["n"]) - 1)] = message.id
        except (discord.HTTPException, DestinationGone) as exc:
            log.info("tasks %s: history unreadable (%s); relying on the nonce", sorted(wanted), exc)
            return {}
        return found

    async def image_url(self, task: TaskRecord, index: int) -> str | None:
        """The signed link of output ``index`` as it is posted now, read afresh from the result's messages.

        Discord signs attachment links for about a day and signs them anew in every payload, so one
        ``GET /channels/{id}/messages/{id}`` gives a link that works for as long again. The image is
        found by its file name, which the bot alone chooses; None when no result message carries it.
        """
        try:
            destination = await self._destination(task)
        except DestinationGone:
            return None
        for message_id in task.result_message_ids:
            try:
                message = await destination.fetch_message(message_id)
            except (discord.NotFound, discord.Forbidden) as exc:
                log.info("task %s: result message %s not readable: %s", task.id, message_id, exc.text)
                continue
            for attachment in message.attachments:
                match = IMAGE_NAME.match(attachment.filename)
                if match and int(match["task"]) == task.id and int(match["n"]) == index + 1:
                    return attachment.url
        return None

    async def deliver_batch(
        self, tasks: list[TaskRecord], images: dict[int, list[DownloadedImage]], key: str
    ) -> list[int]:
        """Post several members' results as one message (the channel is busy); the key, sent as the nonce,
        makes a repeat a no-op."""
        message = await self._send(
            await self._destination(tasks[0]),
            batch_text(tasks, await self._show_cost(tasks[0])),
            files=[_file(image, image_stem(task.id, n)) for task in tasks for n, image in enumerate(images[task.id])],
            view=batch_view(tasks) if not tasks[0].hidden else discord.utils.MISSING,
            nonce=key,
            allowed_mentions=await self._result_mention(*tasks),
        )
        return [message.id]

    async def announce_failure(self, task: TaskRecord, reason: Text) -> None:
        """Tell the member the job produced nothing: in its status message, else in the channel, else by DM."""
        show_cost = await self._show_cost(task)
        if not task.hidden and task.status_message_id is not None:
            edited = await self._edit_status(
                task,
                content=failure_status_text(task, reason, show_cost),
                view=None,
                allowed_mentions=self._mention(task),
                final=True,
            )
            if edited:
                return
        await self._tell(task, failure_text(task, reason, show_cost))

    async def _show_cost(self, task: TaskRecord) -> bool:
        """Whether a post about the task may show its cost: always in the member's DMs, else as the server says."""
        if task.hidden or task.guild_id is None:
            return True
        return await self._bot.guild_settings.get(task.guild_id, SHOW_COSTS)

    async def announce_stale(self, task: TaskRecord) -> None:
        """Tell the member the job is stuck upstream, and that it will still be posted."""
        await self._tell(task, stale_text(task))

    async def _tell(self, task: TaskRecord, text: str) -> None:
        """Reply to the status message in the channel; by DM if the channel is gone or the job is hidden."""
        reference = (
            discord.MessageReference(
                message_id=task.status_message_id, channel_id=task.channel_id, fail_if_not_exists=False
            )
            if task.status_message_id
            else None
        )
        try:
            if not task.hidden:
                await self._channel(task).send(text, reference=reference, allowed_mentions=self._mention(task))  # type: ignore[arg-type]
                return
        except discord.HTTPException as exc:
            log.info("task %s: failure notice not posted in channel (%s); trying a DM", task.id, exc.code)
        try:
            await (await self._member(task)).send(text)
        except discord.HTTPException as exc:
            log.warning("task %s: member %s could not be told (%s)", task.id, task.member_id, exc.code)
