"""/history's page buttons: Newer and Older, rebuilt from their custom ids after a restart.

A custom id carries whose jobs the page lists and the job number the next page starts from
(``egg:history:<member>:o<job>``: the jobs older than that one; ``n<job>``: newer), so a click
works without anything kept in memory, also after the bot restarted. Who clicks is checked again
on every click: the member themselves, or a moderator.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Self

import discord

from bot.app.checks import is_moderator, not_stopping
from bot.app.replies import report
from bot.errors import InvalidRequest
from bot.i18n import Texts, texts
from bot.members import HistoryPage
from cogs.history._render import page_text

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

OLDER, NEWER = "o", "n"


def may_see(interaction: discord.Interaction, member_id: int) -> bool:
    """A member sees their own jobs; a moderator anyone's."""
    return interaction.user.id == member_id or is_moderator(interaction)


async def show_page(interaction: discord.Interaction, bot: EggBot, member_id: int, **cursor: int | None) -> None:
    """Answer with a page of ``member_id``'s jobs (``before``/``after`` a job; the newest by default)."""
    if interaction.guild_id is None:
        raise InvalidRequest(key="history.server_only")
    if not may_see(interaction, member_id):
        raise InvalidRequest(key="history.not_yours")
    page = await bot.history.page(interaction.guild_id, member_id, **cursor)
    t = texts(str(interaction.locale))
    content = page_text(t, page, own=member_id == interaction.user.id)
    view = history_view(t, page)
    options: dict[str, Any] = {"content": content, "view": view, "allowed_mentions": discord.AllowedMentions.none()}
    if interaction.type is discord.InteractionType.component:
        await interaction.response.edit_message(**options)
    else:
        await interaction.response.send_message(**options, ephemeral=True, suppress_embeds=True)


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"egg:history:(?P<member>\d+):(?P<way>[on])(?P<job>\d+)"
):
    """Turn to the page of a member's jobs older or newer than one job."""

    def __init__(self, member_id: int, way: str, job: int, label: str = "", emoji: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or None,
                emoji=emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=f"egg:history:{member_id}:{way}{job}",
            )
        )
        self.member_id, self.way, self.job = member_id, way, job

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["member"]), match["way"], int(match["job"]))

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """The tree's checks, answered like a command's (discord.py drops what this raises, so report it)."""
        try:
            return not_stopping(interaction)
        except Exception as exc:
            await report(interaction, exc)
            return False

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            cursor = {"before": self.job} if self.way == OLDER else {"after": self.job}
            await show_page(interaction, interaction.client, self.member_id, **cursor)  # type: ignore[arg-type]
        except Exception as exc:
            await report(interaction, exc, context=f"/history page by member {interaction.user.id}")


def history_view(t: Texts, page: HistoryPage) -> discord.ui.View:
    """Newer and Older under a page (disabled at either end); no buttons when everything fits one page."""
    view = discord.ui.View(timeout=None)
    if page.first_id is None or page.last_id is None or page.pages < 2:
        return view
    newer = PageButton(page.member_id, NEWER, page.first_id, t("history.newer"), "◀️")
    older = PageButton(page.member_id, OLDER, page.last_id, t("history.older"), "▶️")
    newer.item.disabled = page.newer == 0
    older.item.disabled = page.older == 0
    view.add_item(newer)
    view.add_item(older)
    return view
