"""The report's buttons: turn pages and export, for the moderator who ran /usage only."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord

from bot.app.checks import not_stopping
from bot.app.locales import for_member, server_locale
from bot.app.replies import report, respond
from bot.i18n import Texts

log = logging.getLogger(__name__)

Export = Callable[[discord.Interaction], Awaitable[None]]
TIMEOUT = 14 * 60  # interaction tokens last 15 minutes; after this the buttons are removed


class ReportView(discord.ui.View):
    """Previous / next page and export buttons under an ephemeral report, labelled in ``t``'s language."""

    def __init__(self, t: Texts, owner_id: int, pages: Sequence[discord.Embed], export: Export | None) -> None:
        super().__init__(timeout=TIMEOUT)
        self.previous.label = t("usage.buttons.previous")
        self.next.label = t("usage.buttons.next")
        self.export.label = t("usage.buttons.export")
        self.owner_id = owner_id
        self.pages = list(pages)
        self.index = 0
        self.origin: discord.Interaction | None = None
        self._export = export
        if len(self.pages) < 2:
            self.remove_item(self.previous)
            self.remove_item(self.next)
        if export is None:
            self.remove_item(self.export)
        self._sync()

    @property
    def empty(self) -> bool:
        """True when there is no button to show."""
        return not self.children

    def _sync(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """The tree's checks (a refusal goes to ``on_error``), then only the moderator who asked."""
        not_stopping(interaction)
        if interaction.user.id == self.owner_id:
            return True
        log.info("member %s pressed a /usage button of member %s", interaction.user.id, self.owner_id)
        await respond(interaction, for_member(interaction)("usage.not_yours"))
        return False

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /) -> None:
        """Answer politely, like the command tree does."""
        where = f"/usage button by member {interaction.user.id}"
        await report(interaction, error, context=where, locale=server_locale(interaction))

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._sync()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    @discord.ui.button(label="Previous", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[ReportView]) -> None:
        """Show the page before."""
        await self._show(interaction, self.index - 1)

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[ReportView]) -> None:
        """Show the page after."""
        await self._show(interaction, self.index + 1)

    @discord.ui.button(label="Export CSV + chart", emoji="📎", style=discord.ButtonStyle.primary)
    async def export(self, interaction: discord.Interaction, button: discord.ui.Button[ReportView]) -> None:
        """Send the report's tasks as CSV and its spend chart as PNG."""
        if self._export is not None:
            await self._export(interaction)

    async def on_timeout(self) -> None:
        """Take the buttons away once they can no longer work."""
        if self.origin is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.origin.edit_original_response(view=None)
