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
from bot.app.replies import report, respond
from bot.members import Erasure
from bot.modlog import MemberForgotten
from cogs._shared.text import plural

if TYPE_CHECKING:
    from bot.app.client import EggBot

log = logging.getLogger(__name__)

TIMEOUT = 5 * 60
NOT_YOURS = "Only the one who asked can confirm this."
KEPT = (
    "Kept: how many images each job made, what it cost and when, so the server's accounting "
    "(`/balance`, `/usage`) still adds up."
)


def erasure_text(done: Erasure, whose: str) -> str:
    """What was erased, in plain words (``whose``: "your", "<@123>'s")."""
    lines = [
        f"🧹 Deleted {whose} prompts, negative prompts, reference links and result links from "
        f"{plural(done.tasks, 'finished job')}, and {plural(done.settings, 'setting')}.",
        KEPT,
    ]
    if done.unfinished:
        lines.append(
            f"{plural(done.unfinished, 'job')} still running {'was' if done.unfinished == 1 else 'were'} left "
            "alone: wait until they finish, then run this again."
        )
    lines.append("Messages already posted in channels stay until someone deletes them (the Delete button).")
    return "\n".join(lines)


class ConfirmErase(discord.ui.View):
    """Delete / Cancel under an ephemeral warning; only its owner can press them."""

    def __init__(self, bot: EggBot, *, owner_id: int, guild_id: int, member_id: int, by_moderator: bool) -> None:
        super().__init__(timeout=TIMEOUT)
        self.bot = bot
        self.owner_id = owner_id
        self.guild_id = guild_id
        self.member_id = member_id
        self.by_moderator = by_moderator
        self.origin: discord.Interaction | None = None

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """The tree's checks, Manage Server again for a moderator, then only the one who asked."""
        not_stopping(interaction)
        if self.by_moderator:
            moderators_only(interaction)
        if interaction.user.id == self.owner_id:
            return True
        await respond(interaction, NOT_YOURS)
        return False

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /) -> None:
        """Answer politely, like the command tree does."""
        await report(interaction, error, context=f"erase button by member {interaction.user.id}")

    @discord.ui.button(label="Delete", emoji="🗑️", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmErase]) -> None:
        """Erase now, and say what went and what stayed."""
        self.stop()
        done = await self.bot.members.erase(self.guild_id, self.member_id, by_moderator=self.by_moderator)
        if self.by_moderator:
            event = MemberForgotten(interaction.user.id, self.member_id, done.tasks, done.unfinished)
            self.bot.modlog.record(self.guild_id, event)
        whose = f"<@{self.member_id}>'s" if self.by_moderator else "your"
        await interaction.response.edit_message(content=erasure_text(done, whose), view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmErase]) -> None:
        """Leave everything as it is."""
        self.stop()
        await interaction.response.edit_message(content="Nothing was deleted.", view=None)

    async def on_timeout(self) -> None:
        """Take the buttons away once the question has lapsed."""
        if self.origin is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.origin.edit_original_response(content="Nothing was deleted (no answer).", view=None)
