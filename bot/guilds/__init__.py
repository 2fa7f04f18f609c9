"""Per-server settings that are not money (prompt policy, the mod-log channel, members' preferences).

``settings`` - ``GuildSettings`` (the service, ``GuildSettings(storage)``) and ``Setting``, a typed key
with its default; the keys known so far are declared there. Quota settings live in ``bot.ledger``.
"""

from .settings import BLOCKED_WORDS, DM_GUILD, MOD_LOG_CHANNEL, GuildSettings, Setting

__all__ = ["BLOCKED_WORDS", "DM_GUILD", "MOD_LOG_CHANNEL", "GuildSettings", "Setting"]
