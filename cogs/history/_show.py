"""Fetching a finished job's images again for /show: from EggAPI while it still has them, else from the
bot's own result post, and fitting them into one message.

EggAPI does not say how long its output links live, so they are tried first and a failure is no
error: the result post's attachments (re-read through Discord, so their signed links are fresh)
are the copy the bot keeps. Files are renamed ``job-<n>-<i>``: the ``eggbot-…`` names mark the
delivery's own posts, which a repeated delivery looks for.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot.eggapi import DownloadedImage, EggAPIError
from bot.lifecycle.fitting import fit_images
from bot.lifecycle.model import TaskRecord
from cogs.imagine import IMAGE_NAME

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

MAX_FILES = 10  # Discord's attachments per message


@dataclass(frozen=True, slots=True)
class Found:
    """The images as messages that each fit the limit, how many were too large for any message, and
    whether the result post is still there to link to."""

    batches: list[list[DownloadedImage]]
    too_large: int
    post_there: bool = True

    @property
    def empty(self) -> bool:
        """Nothing to attach."""
        return not self.batches


async def from_eggapi(bot: EggBot, task: TaskRecord) -> list[DownloadedImage]:
    """The job's outputs downloaded from EggAPI again; [] once any of them is gone."""
    if not task.output_urls or not all(task.output_urls):
        return []
    try:
        return [
            await bot.eggapi.download_image(url, max_bytes=bot.settings.max_image_bytes) for url in task.output_urls
        ]
    except (EggAPIError, ValueError) as exc:
        log.info("task %s: outputs no longer downloadable from EggAPI (%s)", task.id, type(exc).__name__)
        return []


async def _result_channel(bot: EggBot, task: TaskRecord) -> discord.abc.Messageable:
    if task.hidden:
        user = bot.get_user(task.member_id) or await bot.fetch_user(task.member_id)
        return await user.create_dm()
    channel = bot.get_channel(task.channel_id)
    if isinstance(channel, discord.abc.Messageable):
        return channel
    return bot.get_partial_messageable(task.channel_id, guild_id=task.guild_id)


async def from_result_post(bot: EggBot, task: TaskRecord) -> tuple[list[DownloadedImage], bool]:
    """The job's images as the bot posted them (its own attachments, in order), and whether the post
    is still there at all; ([], False) once it was deleted."""
    if not task.result_message_ids:
        return [], False
    found: dict[int, DownloadedImage] = {}
    try:
        channel = await _result_channel(bot, task)
        for message_id in task.result_message_ids:
            message = await channel.fetch_message(message_id)
            for attachment in message.attachments:
                match = IMAGE_NAME.match(attachment.filename)
                if match is None or int(match["task"]) != task.id:
                    continue
                data = await attachment.read()
                kind = attachment.content_type or "image/png"
                found[int(match["n"])] = DownloadedImage(data, kind, attachment.filename)
    except discord.NotFound:
        log.info("task %s: result post deleted", task.id)
        return [], False
    except discord.HTTPException as exc:
        log.info("task %s: result post unreadable (%s)", task.id, exc.status)
        return [], True
    return [found[n] for n in sorted(found)], True


async def gather(bot: EggBot, task: TaskRecord, limit: int) -> Found:
    """The job's images, fitted into messages of ``limit`` bytes (Pillow runs off the event loop)."""
    images, post_there = await from_eggapi(bot, task), True
    if not images:
        images, post_there = await from_result_post(bot, task)
    if not images:
        return Found([], 0, post_there)
    fitted = await asyncio.to_thread(fit_images, images, limit, MAX_FILES)
    numbered = iter(range(1, len(images) + 1))
    batches = [
        [
            DownloadedImage(image.data, image.content_type, f"job-{task.id}-{next(numbered)}.{_extension(image)}")
            for image in batch
        ]
        for batch in fitted.batches
    ]
    return Found(batches, len(fitted.too_large))


def _extension(image: DownloadedImage) -> str:
    if "." in image.filename:
        return image.filename.rsplit(".", 1)[1].lower()
    return "jpg" if "jpeg" in image.content_type else "png"
