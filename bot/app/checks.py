"""Checks shared by slash commands and components, so a button is refused exactly like a command.

discord.py runs the tree's ``interaction_check`` for commands only; views and dynamic items have
their own. Every place that admits an interaction calls the functions here instead of a copy.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.logs import bind_log_context


class ShuttingDown(app_commands.CheckFailure):
    """The bot is stopping and takes no new commands or clicks."""


def not_stopping(interaction: discord.Interaction) -> bool:
    """Refuse new work while the bot shuts down (nothing is recorded); the ladder words it politely.

    The tree's ``interaction_check`` and every component's call this same function, so it also names
    the server and member in the log context of the interaction's task (JSON log lines carry them).
    """
    bind_log_context(guild_id=interaction.guild_id, member_id=interaction.user.id)
    if getattr(interaction.client, "stopping", False):  # EggBot.stopping; a plain Client never stops this way
        raise ShuttingDown()
    return True


def moderators_only(interaction: discord.Interaction) -> bool:
    """Runtime twin of ``default_member_permissions``: a server, and Manage Server there.

    Server admins can override a command's default permission, so moderator commands check again.
    """
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    if not interaction.permissions.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])
    return True


def is_moderator(interaction: discord.Interaction) -> bool:
    """Whether the member may act as a moderator here (a server, and Manage Server there), without refusing.

    For commands open to everyone that show moderators more (another member's history, setup steps).
    """
    return interaction.guild_id is not None and interaction.permissions.manage_guild


def role_ids(user: discord.User | discord.Member) -> list[int]:
    """The ids of a member's roles (none for a user outside a server), for quota rules."""
    return [role.id for role in user.roles] if isinstance(user, discord.Member) else []
