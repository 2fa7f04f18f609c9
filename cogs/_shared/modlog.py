"""What a moderator command changed, for the mod-log, and the one-time note that the mod-log is down."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.app.locales import for_server
from bot.app.modlog import outage_text
from bot.modlog import SettingChanged

if TYPE_CHECKING:
    from bot.app.client import EggBot

BEFORE = "modlog.before"  # the key of the settings' text in ``interaction.extras``, read before the command ran


def changed_lines(before: str, after: str, none: str) -> tuple[str, str]:
    """The lines of ``before`` that are gone and those of ``after`` that are new, each joined by "; " (``none``
    when there are none)."""
    old, new = before.splitlines(), after.splitlines()
    gone = [line for line in old if line not in new]
    came = [line for line in new if line not in old]
    return "; ".join(gone) or none, "; ".join(came) or none


def record_change(bot: EggBot, interaction: discord.Interaction, what: str, before: str, after: str) -> None:
    """Put a moderator's change in the server's mod-log (nothing when nothing changed), all three written
    in the server's language."""
    if before != after:
        bot.modlog.record(interaction.guild_id, SettingChanged(interaction.user.id, what, before, after))


def outage_note(bot: EggBot, interaction: discord.Interaction) -> str:
    """A paragraph to add to a moderator's answer, once, when the mod-log channel cannot take posts."""
    outage = bot.modlog.take_outage(interaction.guild_id)
    if outage is None:
        return ""
    return "\n\n" + outage_text(for_server(interaction), outage.channel_id, outage.reason)
