"""The shape every persistent button of this cog shares: ``egg:<prefix>:<id>`` custom ids,
rebuilt from the id after a restart, with errors answered politely (components bypass the tree)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Self

import discord

from bot.app.checks import not_stopping
from bot.app.locales import for_member
from bot.app.replies import report, respond
from bot.i18n import texts
from bot.lifecycle.model import TaskRecord

if TYPE_CHECKING:
    from bot.app.client import EggBot


def may_manage(interaction: discord.Interaction, owner_id: int) -> bool:
    """The member who asked for a job, or someone who may manage messages here."""
    return interaction.user.id == owner_id or interaction.permissions.manage_messages


async def managed_task(interaction: discord.Interaction, bot: EggBot, task_id: int, refusal: str) -> TaskRecord | None:
    """The job behind a button when this member may act on it (see ``may_manage``); else they are
    told ``refusal`` (a catalogue key) and get None."""
    task = await bot.task_store.get(task_id)
    if task is None or not may_manage(interaction, task.member_id):
        await respond(interaction, for_member(interaction)(refusal))
        return None
    return task


class IdButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """A button whose custom id carries one number; subclasses give ``prefix`` and ``run``.

    Its label is the catalogue text ``label_key`` in the language of the message it sits under (English
    when rebuilt from a click: Discord keeps the label the message was posted with).
    """

    label_key: ClassVar[str]
    button_emoji: ClassVar[str]
    button_style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(template=rf"egg:{prefix}:(?P<ident>\d+)", **kwargs)
        cls.prefix = prefix

    prefix: ClassVar[str] = ""

    def __init__(
        self, ident: int, label: str | None = None, row: int | None = None, *, locale: str | None = None
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or texts(locale)(self.label_key),
                emoji=self.button_emoji,
                style=self.button_style,
                custom_id=f"egg:{self.prefix}:{ident}",
            ),
            row=row,
        )
        self.ident = ident

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["ident"]))

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
