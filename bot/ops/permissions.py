"""The permissions ``/imagine`` needs in a channel, Discord's algorithm for them, and the invite link.

The one list: the bot's "ready" line and ``doctor`` print an invite link asking for exactly these,
and ``doctor`` checks them in every channel. No embed permission: the bot posts no embed in a channel
(its embeds are in interaction replies, which need none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

__all__ = [
    "BITS",
    "IMAGINE_PERMISSIONS",
    "NEEDED",
    "NEEDED_IN_THREADS",
    "channel_permissions",
    "invite_link",
    "missing",
]

BITS = {
    "Administrator": 1 << 3,
    "View Channel": 1 << 10,
    "Send Messages": 1 << 11,
    "Send TTS Messages": 1 << 12,
    "Embed Links": 1 << 14,
    "Attach Files": 1 << 15,
    "Read Message History": 1 << 16,
    "Mention Everyone": 1 << 17,
    "Send Messages in Threads": 1 << 38,
}
# Where members use /imagine: see it, post the result with its files, and read back the channel's
# history (after a long outage, to make sure a result is never posted twice).
NEEDED = ("View Channel", "Send Messages", "Attach Files", "Read Message History")
NEEDED_IN_THREADS = ("Send Messages in Threads",)
IMAGINE_PERMISSIONS = sum(BITS[name] for name in (*NEEDED, *NEEDED_IN_THREADS))
ALL = (1 << 53) - 1


def invite_link(application_id: int, permissions: int = IMAGINE_PERMISSIONS) -> str:
    """The OAuth2 link that adds the bot with its slash commands and these permissions."""
    query = urlencode({"client_id": application_id, "scope": "bot applications.commands", "permissions": permissions})
    return f"https://discord.com/oauth2/authorize?{query}"


def _overwrite(overwrites: Mapping[int, Mapping[str, Any]], target: int) -> tuple[int, int]:
    entry = overwrites.get(target)
    return (int(entry["allow"]), int(entry["deny"])) if entry is not None else (0, 0)


def channel_permissions(
    base: int, *, guild_id: int, user_id: int, role_ids: Iterable[int], overwrites: Iterable[Mapping[str, Any]]
) -> int:
    """Discord's algorithm: server-wide ``base``, then the @everyone, role and member overwrites, then implications.

    ``base`` is what ``GET /users/@me/guilds`` reports (roles, no overwrites); Administrator is everything.
    """
    if base & BITS["Administrator"]:
        return ALL
    by_target = {int(o["id"]): o for o in overwrites}
    allow, deny = _overwrite(by_target, guild_id)  # @everyone's id is the server's
    perms = (base & ~deny) | allow
    allow = deny = 0
    for role_id in role_ids:
        role_allow, role_deny = _overwrite(by_target, role_id)
        allow, deny = allow | role_allow, deny | role_deny
    perms = (perms & ~deny) | allow
    allow, deny = _overwrite(by_target, user_id)
    perms = (perms & ~deny) | allow
    if not perms & BITS["View Channel"]:
        return 0
    if not perms & BITS["Send Messages"]:  # Discord drops what sending implies
        for implied in ("Send TTS Messages", "Mention Everyone", "Embed Links", "Attach Files"):
            perms &= ~BITS[implied]
    return perms


def missing(perms: int, names: Iterable[str]) -> list[str]:
    """The named permissions ``perms`` lacks, in the order given."""
    return [name for name in names if not perms & BITS[name]]
