"""The Discord side of the tracker: edits status messages and posts results as channel messages."""

from __future__ import annotations

import io
import logging
import mimetypes
from typing import TYPE_CHECKING

import discord

from bot.eggapi import DownloadedImage
from bot.publishing import DestinationGone, Progress
from bot.tasks import TaskRecord
from cogs.imagine._render import failure_text, result_text, status_text
from cogs.imagine._views import result_view

if TYPE_CHECKING:
    from bot.app import EggBot

log = logging.getLogger(__name__)

GONE_CODES = {10003: "the channel no longer exists", 50001: "I can no longer see the channel", 50013: "I lack permission there"}


def _extension(image: DownloadedImage) -> str:
    if "." in image.filename:
        return image.filename.rsplit(".", 1)[1].lower()
    guessed = mimetypes.guess_extension(image.content_type.split(";")[0].strip()) or ".png"
    return guessed.lstrip(".")


class DiscordPublisher:
    """Implements ``bot.publishing.Publisher`` with channel messages (never the interaction token)."""

    def __init__(self, bot: EggBot) -> None:
        self._bot = bot

    def _channel(self, task: TaskRecord) -> discord.abc.Messageable:
        channel = self._bot.get_channel(task.channel_id)
        if isinstance(channel, discord.abc.Messageable):
            return channel
        return self._bot.get_partial_messageable(task.channel_id, guild_id=task.guild_id)

    def _mention(self, task: TaskRecord) -> discord.AllowedMentions:
        return discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(task.member_id)])

    async def show_progress(self, task: TaskRecord, progress: Progress) -> None:
        """Edit the status message; a vanished message is not an error."""
        if task.status_message_id is None:
            return
        channel = self._channel(task)
        message = discord.PartialMessage(channel=channel, id=task.status_message_id)  # type: ignore[arg-type]
        try:
            await message.edit(content=status_text(task, progress), allowed_mentions=discord.AllowedMentions.none())
        except (discord.NotFound, discord.Forbidden) as exc:
            log.info("task %s: status message %s cannot be edited: %s", task.id, task.status_message_id, exc.text)

    async def deliver(self, task: TaskRecord, images: list[DownloadedImage]) -> list[int]:
        """Post the images with the task's nonce so a repeated call cannot post twice."""
        files = [
            discord.File(io.BytesIO(image.data), filename=f"eggbot-{task.id}-{index + 1}.{_extension(image)}")
            for index, image in enumerate(images)
        ]
        channel = self._channel(task)
        try:
            message = await channel.send(
                result_text(task),
                files=files,
                view=result_view(task),
                nonce=task.nonce,  # discord.py always sends enforce_nonce with it
                allowed_mentions=self._mention(task),
            )
        except discord.HTTPException as exc:
            if exc.code in GONE_CODES:
                raise DestinationGone(GONE_CODES[exc.code]) from exc
            raise
        return [message.id]

    async def announce_failure(self, task: TaskRecord, reason: str) -> None:
        """Tell the member in the channel, replying to the status message; by DM if the channel is gone."""
        text = failure_text(task, reason)
        reference = (
            discord.MessageReference(message_id=task.status_message_id, channel_id=task.channel_id, fail_if_not_exists=False)
            if task.status_message_id
            else None
        )
        try:
            await self._channel(task).send(text, reference=reference, allowed_mentions=self._mention(task))  # type: ignore[arg-type]
            return
        except discord.HTTPException as exc:
            log.info("task %s: failure notice not posted in channel (%s); trying a DM", task.id, exc.code)
        try:
            user = self._bot.get_user(task.member_id) or await self._bot.fetch_user(task.member_id)
            await user.send(text)
        except discord.HTTPException as exc:
            log.warning("task %s: member %s could not be told (%s)", task.id, task.member_id, exc.code)
