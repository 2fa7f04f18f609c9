"""The /imagine command: parse the options, start the job, answer at once."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.locales import member_locale
from bot.errors import InvalidRequest
from bot.i18n import Text
from bot.lifecycle.model import COUNT_MIN, NEGATIVE_PROMPT_MAX, PROMPT_MAX, ImagineRequest
from cogs.imagine._actions import BUTTONS as RESULT_ACTIONS
from cogs.imagine._actions import on_modal_submit
from cogs.imagine._flow import parent_channel, start_job
from cogs.imagine._status import CancelButton, HideButton
from cogs.imagine._views import DeleteButton, DeleteJobButton, DeletePartButton, RerollButton

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

# Every type EggAPI accepts as a reference, and the name a member knows it by.
REFERENCE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP", "image/gif": "GIF"}
_NAMES = tuple(REFERENCE_TYPES.values())
REFERENCE_NAMES = Text("i18n.either", first=", ".join(_NAMES[:-1]), last=_NAMES[-1])  # the refusal names them all
REFERENCE_MAX_BYTES = 20 * 1024 * 1024
BUTTONS = (RerollButton, DeleteButton, DeleteJobButton, DeletePartButton, CancelButton, HideButton, *RESULT_ACTIONS)


def reference_urls(attachments: list[discord.Attachment | None]) -> tuple[str, ...]:
    """The URLs of the reference images, refusing anything that is not a reasonably sized image."""
    urls: list[str] = []
    for attachment in attachments:
        if attachment is None:
            continue
        kind = (attachment.content_type or "").split(";")[0].strip().lower()
        if kind not in REFERENCE_TYPES:
            raise InvalidRequest(key="errors.reference_type", file=attachment.filename, types=REFERENCE_NAMES)
        if attachment.size > REFERENCE_MAX_BYTES:
            raise InvalidRequest(key="errors.reference_too_large", file=attachment.filename)
        urls.append(attachment.url)
    return tuple(urls)


class ImagineCog(commands.Cog):
    """Image generation."""

    def __init__(self, bot: EggBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Register the persistent result buttons."""
        self.bot.add_dynamic_items(*BUTTONS)

    async def cog_unload(self) -> None:
        """Forget the persistent buttons."""
        self.bot.remove_dynamic_items(*BUTTONS)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Edit and Remix modals: discord.py keeps no copy of them, so their submissions arrive here."""
        if interaction.type is discord.InteractionType.modal_submit:
            await on_modal_submit(self.bot, interaction)

    @app_commands.command(name="imagine")
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    @app_commands.describe(
        prompt="What to draw",
        aspect_ratio="Shape of the image (default 16:9, or yours from /settings)",
        count="How many images, 1 to 4 (default 1, or yours from /settings)",
        negative_prompt="What to keep out of the image",
        resolution="Output resolution (default: the model's own, or yours from /settings)",
        reference="An image to edit or take after",
        reference_2="A second reference image",
        reference_3="A third reference image",
    )
    async def imagine(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, PROMPT_MAX],
        aspect_ratio: Literal["16:9", "9:16"] | None = None,
        count: app_commands.Range[int, 1, 4] | None = None,
        negative_prompt: app_commands.Range[str, 1, NEGATIVE_PROMPT_MAX] | None = None,
        resolution: Literal["1k", "2k", "4k"] | None = None,
        reference: discord.Attachment | None = None,
        reference_2: discord.Attachment | None = None,
        reference_3: discord.Attachment | None = None,
    ) -> None:
        """Turn a prompt into images, posted here when they are ready."""
        request = ImagineRequest(
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id or 0,
            member_id=interaction.user.id,
            prompt=prompt,
            negative_prompt=negative_prompt,
            aspect_ratio=aspect_ratio,
            count=count or COUNT_MIN,
            resolution=resolution,
            reference_urls=reference_urls([reference, reference_2, reference_3]),
            interaction_id=interaction.id,
            upload_limit=interaction.filesize_limit,
            parent_channel_id=parent_channel(interaction),
            locale=member_locale(interaction),
        )
        # The member's /settings fill in what they left out; the options they gave win.
        preferences = await self.bot.preferences.get(interaction.guild_id, interaction.user.id)
        await start_job(self.bot, interaction, preferences.apply(request, count_given=count is not None))
