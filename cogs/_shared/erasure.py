"""The confirmation before a member's data is erased, shared by /mydata delete and /policy forget.

Erasing cannot be undone, so nothing happens until the one who asked presses the button; a
moderator's permission is checked again at the press, and the mod-log records what they erased.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.app.checks import moderators_only, not_stopping
from bot.app.locales import for_member, server_locale
from bot.app.replies import report, respond
from bot.i18n import Text, Texts
from bot.members import Erasure
from bot.modlog import MemberForgotten

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

TIMEOUT = 5 * 60


def erasure_text(t: Texts, done: Erasure, member_id: int | None) -> str:
    """What was erased, in plain words (``member_id``: whose data a moderator erased; None: the reader's own)."""
    counts = {
        "jobs": Text("mydata.finished_jobs", count=done.tasks),
        "settings": Text("mydata.setting_count", count=done.settings),
    }
    if member_id is None:
        lines = [t("mydata.erased_own", **counts)]
    else:
        lines = [t("mydata.erased_member", member=f"<@{member_id}>", **counts)]
    lines.append(t("mydata.kept"))
    if done.unfinished:
        lines.append(t("mydata.running_were_left", count=done.unfinished))
    lines.append(t("mydata.posts_stay"))
    return "\n".join(lines)


class ConfirmErase(discord.ui.View):
    """Delete / Cancel under an ephemeral warning; only its owner can press them. Worded in ``t``'s language
    (the member's own, or the server's for a moderator)."""

    def __init__(
        self, bot: EggBot, t: Texts, *, owner_id: int, guild_id: int, member_id: int, by_moderator: bool
    ) -> None:
        super().__init__(timeout=TIMEOUT)
        self.bot = bot
        self.t = t
        self.owner_id = owner_id
        self.guild_id = guild_id
        self.member_id = member_id
        self.by_moderator = by_moderator
        self.origin: discord.Interaction | None = None
        self.confirm.label = t("mydata.buttons.delete")
        self.cancel.label = t("mydata.buttons.cancel")

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """The tree's checks, Manage Server again for a moderator, then only the one who asked."""
        not_stopping(interaction)
        if self.by_moderator:
            moderators_only(interaction)
        if interaction.user.id == self.owner_id:
            return True
        await respond(interaction, for_member(interaction)("mydata.not_yours"))
        return False

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /) -> None:
        """Answer politely, like the command tree does."""
        locale = server_locale(interaction) if self.by_moderator else None
        await report(interaction, error, context=f"erase button by member {interaction.user.id}", locale=locale)

    @discord.ui.button(label="Delete", emoji="🗑️", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmErase]) -> None:
        """Erase now, and say what went and what stayed."""
        self.stop()
        done = await self.bot.members.erase(self.guild_id, self.member_id, by_moderator=self.by_moderator)
        if self.by_moderator:
            event = MemberForgotten(interaction.user.id, self.member_id, done.tasks, done.unfinished)
            self.bot.modlog.record(self.guild_id, event)
        whose = self.member_id if self.by_moderator else None
        await interaction.response.edit_message(content=erasure_text(self.t, done, whose), view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmErase]) -> None:
        """Leave everything as it is."""
        self.stop()
        await interaction.response.edit_message(content=self.t("mydata.nothing_deleted"), view=None)

    async def on_timeout(self) -> None:
        """Take the buttons away once the question has lapsed."""
        if self.origin is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.origin.edit_original_response(content=self.t("mydata.no_answer"), view=None)
