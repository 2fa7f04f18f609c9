"""Whose language a text is written in, and how Discord shows the times and channels the core leaves open.

Members read their replies in their own Discord language (``interaction.locale``); what moderators
read about their server (``/quota``, ``/policy``, ``/usage``, the mod-log) is in the server's language
(``guild_locale``, a guild's ``preferred_locale``); a job's later posts in the language of the member who
asked (``TaskRecord.locale``). ``DISCORD`` writes ``bot.i18n.Moment`` and ``Channels`` as Discord markup.
"""

from __future__ import annotations

from datetime import datetime

import discord
from discord import app_commands

from bot.i18n import Texts, TimeStyle, texts
from bot.lifecycle.model import TaskRecord


class DiscordMarkup:
    """Times as ``<t:…>`` timestamps (each reader's own clock and language), channels as links."""

    def moment(self, at: datetime, style: TimeStyle) -> str:
        return discord.utils.format_dt(at, style)

    def channel(self, channel_id: int) -> str:
        return f"<#{channel_id}>"


DISCORD = DiscordMarkup()


def member_locale(interaction: discord.Interaction) -> str:
    """The Discord language of the one who acted."""
    return str(interaction.locale)


def server_locale(interaction: discord.Interaction) -> str | None:
    """The server's language (None outside a server: the default language)."""
    return str(interaction.guild_locale) if interaction.guild_locale is not None else None


def guild_locale(guild: discord.Guild | None) -> str | None:
    """A server's preferred language, for what is posted to its moderators without an interaction."""
    return str(guild.preferred_locale) if guild is not None else None


def for_member(interaction: discord.Interaction) -> Texts:
    """Texts for the member who acted."""
    return texts(member_locale(interaction), DISCORD)


def for_server(interaction: discord.Interaction) -> Texts:
    """Texts for the server's moderators."""
    return texts(server_locale(interaction), DISCORD)


def for_task(task: TaskRecord) -> Texts:
    """Texts for a job's own posts: the language of the member who asked for it."""
    return texts(task.locale, DISCORD)


def moderator_command(interaction: discord.Interaction) -> bool:
    """Whether the interaction is a moderator command (one that needs Manage Server by default)."""
    command = interaction.command
    root = command.root_parent if isinstance(command, app_commands.Command) else None
    permissions = (root or command).default_permissions if command is not None else None
    return permissions is not None and permissions.manage_guild


def reader_locale(interaction: discord.Interaction) -> str | None:
    """Who reads a refusal: the server's moderators for a moderator command, else the member."""
    return server_locale(interaction) if moderator_command(interaction) else member_locale(interaction)
