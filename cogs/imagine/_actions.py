"""Building on a result: pick an image, Vary / Edit / Again at 2k-4k it, Remix the job, read its Details.

Under a result with several images, a button per image opens a panel only the clicker sees ("image
2 of 4 · job #12") with Vary, Edit and Again; under a single image those are on the result itself.
Every custom id carries the job id and the image (``egg:vary:12:2``, ``egg:again:12:2:4k``), modals'
too (``egg:editm:12:2``), so nothing is kept in memory and every button works after a restart.

Each action builds an ``ImagineRequest`` (``bot.lifecycle.remakes``) and goes through ``start_job``
like /imagine: the server's prompt policy, the clicker's own quota and the fair queue. A picked
image's link is fetched afresh right before the job is recorded; a deleted result is refused before
anything is charged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

import discord

from bot.app.checks import not_stopping
from bot.app.locales import for_member, member_locale
from bot.app.replies import report
from bot.errors import InvalidRequest
from bot.guilds import SHOW_COSTS
from bot.i18n import Texts, texts
from bot.lifecycle.model import NEGATIVE_PROMPT_MAX, PROMPT_MAX, OriginKind, TaskRecord
from bot.lifecycle.remakes import Asker, check_image, images_made, remake, upscales
from bot.members import PLACEHOLDERS
from cogs.imagine._flow import parent_channel, start_job
from cogs.imagine._results import details_text, panel_text

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

MODAL = re.compile(r"egg:(?:editm:(?P<edit>\d+):(?P<image>\d+)|remixm:(?P<remix>\d+))")
PROMPT, NEGATIVE = "prompt", "negative"  # the modals' input ids


def asker(interaction: discord.Interaction) -> Asker:
    """The member who clicked, where: the new job is theirs, paid from their own quota, posted here."""
    return Asker(
        member_id=interaction.user.id,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id or 0,
        interaction_id=interaction.id,
        upload_limit=interaction.filesize_limit,
        parent_channel_id=parent_channel(interaction),
        locale=member_locale(interaction),
    )


class ActionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """A button whose custom id says everything it needs; subclasses give the template, ``parse`` and ``run``.

    Its label is the catalogue text ``label_key`` (with the button's job, image and size) in ``locale``'s
    language: the job's under a result, the clicker's in a panel. Rebuilt from a click, it keeps the label
    Discord shows.
    """

    label_key: ClassVar[str]
    emoji: ClassVar[str]
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init__(
        self, custom_id: str, label: str | None, row: int | None, *, locale: str | None, **params: object
    ) -> None:
        label = label or texts(locale)(self.label_key, **params)
        button = discord.ui.Button[Any](label=label, emoji=self.emoji, style=self.style, custom_id=custom_id)
        super().__init__(button, row=row)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls.parse(match, getattr(item, "label", None))

    @classmethod
    def parse(cls, match: re.Match[str], label: str | None) -> Self:
        """The button again, from its custom id (after a restart too)."""
        raise NotImplementedError

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """The tree's checks, answered like a command's (discord.py drops what this raises, so report it)."""
        try:
            return not_stopping(interaction)
        except Exception as exc:
            await report(interaction, exc)
            return False

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.run(interaction, interaction.client)  # type: ignore[arg-type]
        except Exception as exc:
            await report(interaction, exc)

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        """What the click does."""
        raise NotImplementedError


class ImageButton(ActionButton, template=r"(?!)"):
    """A button about one image of a job: ``egg:<prefix>:<job>:<image>``."""

    prefix: ClassVar[str]

    def __init__(
        self, task_id: int, image: int, label: str | None = None, row: int | None = None, *, locale: str | None = None
    ) -> None:
        self.task_id, self.image = task_id, image
        super().__init__(f"egg:{self.prefix}:{task_id}:{image}", label, row, locale=locale, image=image)

    @classmethod
    def parse(cls, match: re.Match[str], label: str | None) -> Self:
        return cls(int(match["task"]), int(match["image"]), label)


class PickButton(ImageButton, template=r"egg:pick:(?P<task>\d+):(?P<image>\d+)"):
    """Pick one image of several: a panel only the clicker sees, with what can be made from it."""

    prefix, label_key, emoji = "pick", "results.pick", "🖼️"

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        origin = await bot.remakes.origin(self.task_id)
        check_image(origin, self.image)
        view = discord.ui.View(timeout=None)
        for item in image_actions(origin, self.image, member_locale(interaction), row=0):
            view.add_item(item)
        await interaction.response.send_message(
            panel_text(for_member(interaction), origin, self.image),
            view=view,
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


class VaryButton(ImageButton, template=r"egg:vary:(?P<task>\d+):(?P<image>\d+)"):
    """The picked image edited by EggAPI with the same prompt: variations of it."""

    prefix, label_key, emoji = "vary", "results.vary", "🎨"

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        origin = await bot.remakes.origin(self.task_id)
        url = await bot.remakes.image_url(origin, self.image)
        request = remake(origin, OriginKind.VARY, asker(interaction), image=self.image, image_url=url)
        await start_job(bot, interaction, request)


class EditButton(ImageButton, template=r"egg:edit:(?P<task>\d+):(?P<image>\d+)"):
    """The picked image edited with a prompt the member writes (in a modal)."""

    prefix, label_key, emoji = "edit", "results.edit", "✏️"

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        origin = await bot.remakes.origin(self.task_id)
        check_image(origin, self.image)
        t = for_member(interaction)
        modal = prompt_modal(
            t,
            f"egg:editm:{origin.id}:{self.image}",
            t("results.edit_title", job=origin.id, image=self.image),
            prompt=(t("results.edit_prompt_hint", image=self.image), _writable(origin.prompt)),
        )
        await interaction.response.send_modal(modal)


class AgainButton(ActionButton, template=r"egg:again:(?P<task>\d+):(?P<image>\d+):(?P<size>2k|4k)"):
    """The picked image once more at a higher resolution (offered only above the job's own)."""

    label_key, emoji = "results.again", "🔍"

    def __init__(
        self,
        task_id: int,
        image: int,
        size: str,
        label: str | None = None,
        row: int | None = None,
        *,
        locale: str | None = None,
    ) -> None:
        self.task_id, self.image, self.size = task_id, image, size
        super().__init__(f"egg:again:{task_id}:{image}:{size}", label, row, locale=locale, resolution=size)

    @classmethod
    def parse(cls, match: re.Match[str], label: str | None) -> Self:
        return cls(int(match["task"]), int(match["image"]), match["size"], label)

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        origin = await bot.remakes.origin(self.task_id)
        if self.size not in upscales(origin):  # checked before the image is fetched
            raise InvalidRequest(key="results.no_upscale", job=origin.id, image=self.image, resolution=self.size)
        url = await bot.remakes.image_url(origin, self.image)
        request = remake(
            origin, OriginKind.UPSCALE, asker(interaction), image=self.image, image_url=url, resolution=self.size
        )
        await start_job(bot, interaction, request)


class JobButton(ActionButton, template=r"(?!)"):
    """A button about a whole job: ``egg:<prefix>:<job>``."""

    prefix: ClassVar[str]

    def __init__(
        self, task_id: int, label: str | None = None, row: int | None = None, *, locale: str | None = None
    ) -> None:
        self.task_id = task_id
        super().__init__(f"egg:{self.prefix}:{task_id}", label, row, locale=locale)

    @classmethod
    def parse(cls, match: re.Match[str], label: str | None) -> Self:
        return cls(int(match["task"]), label)


class RemixButton(JobButton, template=r"egg:remix:(?P<task>\d+)"):
    """The whole job again with a changed prompt and negative prompt (a modal, prefilled)."""

    prefix, label_key, emoji = "remix", "results.remix", "🎛️"

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        origin = await bot.remakes.origin(self.task_id)
        if origin.prompt in PLACEHOLDERS:
            raise InvalidRequest(key="results.erased", job=origin.id)
        refreshable = await bot.remakes.image_source(origin) is not None  # a picked image: fetched afresh
        if not refreshable and not bot.references.usable(origin.reference_urls):
            raise InvalidRequest(key="results.references_expired", job=origin.id)  # the member's own uploads
        t = for_member(interaction)
        modal = prompt_modal(
            t,
            f"egg:remixm:{origin.id}",
            t("results.remix_title", job=origin.id),
            prompt=(t("results.remix_prompt_hint"), _writable(origin.prompt)),
            negative=(t("results.negative_hint"), origin.negative_prompt or ""),
        )
        await interaction.response.send_modal(modal)


class DetailsButton(JobButton, template=r"egg:info:(?P<task>\d+)"):
    """How the job was made, for the clicker only: prompt, options, cost, time taken, who asked, its origin."""

    prefix, label_key, emoji = "info", "results.details", "📋"

    async def run(self, interaction: discord.Interaction, bot: EggBot) -> None:
        task = await bot.remakes.origin(self.task_id)
        earlier = await bot.task_store.get(task.origin_task_id) if task.origin_task_id is not None else None
        # A server may hide costs from public posts; the member who asked always sees theirs.
        show_cost = interaction.user.id == task.member_id or interaction.guild_id is None
        if not show_cost and interaction.guild_id is not None:
            show_cost = await bot.guild_settings.get(interaction.guild_id, SHOW_COSTS)
        await interaction.response.send_message(
            details_text(for_member(interaction), task, earlier, show_cost=show_cost),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


BUTTONS = (PickButton, VaryButton, EditButton, AgainButton, RemixButton, DetailsButton)


def image_actions(task: TaskRecord, image: int, locale: str | None, *, row: int) -> list[discord.ui.Item[Any]]:
    """Vary, Edit and Again at each larger resolution, for one image of the job, labelled in ``locale``'s
    language (the job's under its result, the clicker's in a panel)."""
    items: list[discord.ui.Item[Any]] = [
        VaryButton(task.id, image, row=row, locale=locale),
        EditButton(task.id, image, row=row, locale=locale),
    ]
    items += [AgainButton(task.id, image, size, row=row, locale=locale) for size in upscales(task)]
    return items


def result_actions(task: TaskRecord) -> tuple[list[discord.ui.Item[Any]], list[discord.ui.Item[Any]]]:
    """The new buttons under a result, in the job's language: a row about its images (a button per
    image to pick one, or for a single image what can be made of it), and Remix and Details."""
    made = images_made(task)
    if made == 1:
        images = image_actions(task, 1, task.locale, row=0)
    else:
        images = [PickButton(task.id, n, row=0, locale=task.locale) for n in range(1, made + 1)]
    job: list[discord.ui.Item[Any]] = [
        RemixButton(task.id, row=1, locale=task.locale),
        DetailsButton(task.id, row=1, locale=task.locale),
    ]
    return images, job


def _writable(prompt: str) -> str:
    """A prompt as a modal may prefill it (an erased one is not worth editing)."""
    return "" if prompt in PLACEHOLDERS else prompt[:PROMPT_MAX]


def prompt_modal(
    t: Texts,
    custom_id: str,
    title: str,
    *,
    prompt: tuple[str, str],
    negative: tuple[str, str] | None = None,
) -> discord.ui.Modal:
    """A modal asking for a prompt (and a negative prompt), each given as (hint, prefilled text), its
    labels in ``t``'s language (the clicker's).

    It is stopped before it is sent, so discord.py keeps no copy: its submission is handled by
    ``on_modal_submit`` from the custom id alone, after a restart too.
    """
    modal = discord.ui.Modal(title=title[:45], custom_id=custom_id, timeout=None)
    hint, text = prompt
    modal.add_item(
        discord.ui.Label(
            text=t("results.prompt_label"),
            description=hint[:100],
            component=discord.ui.TextInput(
                custom_id=PROMPT,
                style=discord.TextStyle.paragraph,
                default=text or None,
                min_length=1,
                max_length=PROMPT_MAX,
            ),
        )
    )
    if negative is not None:
        hint, text = negative
        modal.add_item(
            discord.ui.Label(
                text=t("results.negative_label"),
                description=hint[:100],
                component=discord.ui.TextInput(
                    custom_id=NEGATIVE,
                    style=discord.TextStyle.paragraph,
                    default=text[:NEGATIVE_PROMPT_MAX] or None,
                    required=False,
                    max_length=NEGATIVE_PROMPT_MAX,
                ),
            )
        )
    modal.stop()
    return modal


def submitted_values(components: list[Mapping[str, Any]]) -> dict[str, str]:
    """The text a modal submission carries, by input id (inputs in action rows or labels)."""
    return {str(c.get("custom_id")): str(c.get("value") or "") for c in _inputs(components)}


def _inputs(components: list[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for component in components:
        if component.get("type") == 4:
            yield component
        elif component.get("type") == 1:
            yield from _inputs(list(component.get("components") or []))
        elif component.get("type") == 18 and isinstance(component.get("component"), Mapping):
            yield from _inputs([component["component"]])


async def on_modal_submit(bot: EggBot, interaction: discord.Interaction) -> None:
    """An Edit or Remix modal was sent: start its job (other modals are not ours)."""
    data: Mapping[str, Any] = interaction.data or {}
    match = MODAL.fullmatch(str(data.get("custom_id", "")))
    if match is None:
        return
    try:
        not_stopping(interaction)
        values = submitted_values(list(data.get("components") or []))
        prompt = values.get(PROMPT, "")
        if match["edit"] is not None:
            origin = await bot.remakes.origin(int(match["edit"]))
            image = int(match["image"])
            url = await bot.remakes.image_url(origin, image)
            request = remake(origin, OriginKind.EDIT, asker(interaction), image=image, image_url=url, prompt=prompt)
        else:
            origin = await bot.remakes.origin(int(match["remix"]))
            references = await bot.remakes.references(origin)
            if not bot.references.usable(references):
                raise InvalidRequest(key="results.references_expired", job=origin.id)
            request = remake(
                origin,
                OriginKind.REMIX,
                asker(interaction),
                references=references,
                prompt=prompt,
                negative_prompt=values.get(NEGATIVE) or None,
            )
        await start_job(bot, interaction, request)
    except Exception as exc:
        await report(interaction, exc)
