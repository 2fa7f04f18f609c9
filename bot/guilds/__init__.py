"""Per-server settings that are not money (prompt policy, the mod-log channel, whether captions
show costs, members' preferences).

``settings`` - ``GuildSettings`` (the service, ``GuildSettings(storage)``) and ``Setting``, a typed key
with its default; the keys known so far are declared there. ``GuildSettings.values`` reads all of a
guild's settings at once (``GuildValues``); ``update`` changes one in a single transaction. Quota
settings live in ``bot.ledger``.
"""

from .settings import (
    ALLOWED_CHANNELS,
    BLOCKED_MEMBERS,
    BLOCKED_PATTERNS,
    BLOCKED_WORDS,
    DM_GUILD,
    MEMBER_GENERATION,
    MOD_LOG_CHANNEL,
    SHOW_COSTS,
    GuildSettings,
    GuildValues,
    Setting,
)

__all__ = [
    "ALLOWED_CHANNELS",
    "BLOCKED_MEMBERS",
    "BLOCKED_PATTERNS",
    "BLOCKED_WORDS",
    "DM_GUILD",
    "MEMBER_GENERATION",
    "MOD_LOG_CHANNEL",
    "SHOW_COSTS",
    "GuildSettings",
    "GuildValues",
    "Setting",
]
