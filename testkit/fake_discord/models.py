"""World model of the fake Discord: constants, snowflake ids, users, guilds, roles, channels, permissions.

Private helper module of :mod:`testkit.fake_discord`; read that module's docstring for the
public guide. Everything here is plain data: the server mutates it, tests read it.
"""

from __future__ import annotations

import datetime
import mimetypes
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
MIB = 1024 * 1024
DEFAULT_FILESIZE_LIMIT = 10 * MIB
PREMIUM_TIER_FILESIZE = {0: 10 * MIB, 1: 10 * MIB, 2: 50 * MIB, 3: 100 * MIB}

# Permission bits, named as in Discord's documentation.
PERMISSIONS: dict[str, int] = {
    name: 1 << bit
    for name, bit in {
        "CREATE_INSTANT_INVITE": 0,
        "KICK_MEMBERS": 1,
        "BAN_MEMBERS": 2,
        "ADMINISTRATOR": 3,
        "MANAGE_CHANNELS": 4,
        "MANAGE_GUILD": 5,
        "ADD_REACTIONS": 6,
        "VIEW_AUDIT_LOG": 7,
        "PRIORITY_SPEAKER": 8,
        "STREAM": 9,
        "VIEW_CHANNEL": 10,
        "SEND_MESSAGES": 11,
        "SEND_TTS_MESSAGES": 12,
        "MANAGE_MESSAGES": 13,
        "EMBED_LINKS": 14,
        "ATTACH_FILES": 15,
        "READ_MESSAGE_HISTORY": 16,
        "MENTION_EVERYONE": 17,
        "USE_EXTERNAL_EMOJIS": 18,
        "VIEW_GUILD_INSIGHTS": 19,
        "CONNECT": 20,
        "SPEAK": 21,
        "MUTE_MEMBERS": 22,
        "DEAFEN_MEMBERS": 23,
        "MOVE_MEMBERS": 24,
        "USE_VAD": 25,
        "CHANGE_NICKNAME": 26,
        "MANAGE_NICKNAMES": 27,
        "MANAGE_ROLES": 28,
        "MANAGE_WEBHOOKS": 29,
        "MANAGE_GUILD_EXPRESSIONS": 30,
        "USE_APPLICATION_COMMANDS": 31,
        "REQUEST_TO_SPEAK": 32,
        "MANAGE_EVENTS": 33,
        "MANAGE_THREADS": 34,
        "CREATE_PUBLIC_THREADS": 35,
        "CREATE_PRIVATE_THREADS": 36,
        "USE_EXTERNAL_STICKERS": 37,
        "SEND_MESSAGES_IN_THREADS": 38,
        "USE_EMBEDDED_ACTIVITIES": 39,
        "MODERATE_MEMBERS": 40,
        "VIEW_CREATOR_MONETIZATION_ANALYTICS": 41,
        "USE_SOUNDBOARD": 42,
        "CREATE_GUILD_EXPRESSIONS": 43,
        "CREATE_EVENTS": 44,
        "USE_EXTERNAL_SOUNDS": 45,
        "SEND_VOICE_MESSAGES": 46,
        "SEND_POLLS": 49,
        "USE_EXTERNAL_APPS": 50,
        "PIN_MESSAGES": 51,
    }.items()
}
ALL_PERMISSIONS = sum(PERMISSIONS.values())
# What Discord gives @everyone in a new guild.
DEFAULT_EVERYONE_PERMISSIONS = 2248473465835073
# What a typical invite link grants the bot's managed role.
DEFAULT_BOT_PERMISSIONS = sum(
    PERMISSIONS[p]
    for p in (
        "VIEW_CHANNEL",
        "SEND_MESSAGES",
        "EMBED_LINKS",
        "ATTACH_FILES",
        "READ_MESSAGE_HISTORY",
        "SEND_MESSAGES_IN_THREADS",
        "USE_APPLICATION_COMMANDS",
        "ADD_REACTIONS",
    )
)
# Permissions Discord reports for a DM channel.
DM_PERMISSIONS = sum(
    PERMISSIONS[p]
    for p in (
        "VIEW_CHANNEL",
        "SEND_MESSAGES",
        "EMBED_LINKS",
        "ATTACH_FILES",
        "READ_MESSAGE_HISTORY",
        "ADD_REACTIONS",
        "USE_EXTERNAL_EMOJIS",
        "MENTION_EVERYONE",
        "USE_APPLICATION_COMMANDS",
    )
)

PermissionsLike = int | str | Any | Iterable[int | str | Any]


class Intents:
    """Gateway intent bits the fake looks at."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


class MessageFlags:
    """Message flag bits the fake looks at."""

    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


class ChannelType:
    """Channel type numbers."""

    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5
    GUILD_STAGE_VOICE = 13
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_FORUM = 15
    THREADS = frozenset({10, 11, 12})


def resolve_permissions(value: PermissionsLike) -> int:
    """Turn an int, a name like ``"SEND_MESSAGES"``, a ``discord.Permissions`` or an iterable of those into bits."""
    if isinstance(value, bool):
        raise TypeError("permissions must not be a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        key = value.strip().upper()
        if key.isdigit():
            return int(key)
        if key not in PERMISSIONS:
            raise ValueError(f"unknown permission name {value!r}")
        return PERMISSIONS[key]
    inner = getattr(value, "value", None)
    if isinstance(inner, int):
        return inner
    total = 0
    for item in value:
        total |= resolve_permissions(item)
    return total


class SnowflakeFactory:
    """Monotonic snowflake ids whose timestamp part is the current time (so ``created_at`` is sane)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """Return a fresh id, strictly greater than every earlier one."""
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(self._last + 1, now)
        return self._last

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """A fresh id that Discord's formula routes to ``shard_id`` of ``shard_count`` (for sharding tests)."""
        ident = self.next()
        while (ident >> 22) % shard_count != shard_id:
            ident += 1 << 22
        self._last = ident
        return ident


def iso_now() -> str:
    """Current UTC time in Discord's ISO 8601 form."""
    return datetime.datetime.now(datetime.UTC).isoformat()


def guess_content_type(filename: str, declared: str | None = None) -> str:
    """Content type Discord would report: sniffed from the name, else the declared type."""
    guessed, _ = mimetypes.guess_type(filename)
    if guessed:
        return guessed
    return declared or "application/octet-stream"


# --------------------------------------------------------------------------- world


@dataclass(eq=False)
class FakeUser:
    """A Discord user (people and the bot)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_blocked: bool = False
    locale: str = "en-US"
    upload_limit: int | None = None  # the user's own Nitro upload limit (Nitro 500 MiB, Basic 50 MiB)

    @property
    def mention(self) -> str:
        """``<@id>``."""
        return f"<@{self.id}>"

    def to_json(self) -> dict[str, Any]:
        """User object as Discord sends it."""
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }


@dataclass(eq=False)
class FakeRole:
    """A guild role. The @everyone role has ``id == guild.id``."""

    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed_by_bot: int | None = None

    @property
    def mention(self) -> str:
        """``<@&id>``."""
        return f"<@&{self.id}>"

    def to_json(self) -> dict[str, Any]:
        """Role object as Discord sends it."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed_by_bot is not None,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.managed_by_bot is not None:
            data["tags"] = {"bot_id": str(self.managed_by_bot)}
        return data


@dataclass(eq=False)
class FakeMember:
    """A user's membership in one guild. ``id``/``username``/``mention`` forward to the user."""

    user: FakeUser
    guild: FakeGuild = field(repr=False)
    roles: list[FakeRole] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)

    @property
    def id(self) -> int:
        """The user's id."""
        return self.user.id

    @property
    def username(self) -> str:
        """The user's name."""
        return self.user.username

    @property
    def mention(self) -> str:
        """``<@id>``."""
        return self.user.mention

    def to_json(self, *, with_user: bool = True, permissions: int | None = None) -> dict[str, Any]:
        """Guild member object; ``permissions`` is added for interaction payloads."""
        data: dict[str, Any] = {
            "roles": [str(r.id) for r in self.roles if r.id != self.guild.id],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.to_json()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class Overwrite:
    """A channel permission overwrite (type 0 = role, 1 = member)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def to_json(self) -> dict[str, Any]:
        """Overwrite object as Discord sends it."""
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass(eq=False)
class FakeChannel:
    """A guild channel, thread (``parent`` set) or DM (``recipient`` set)."""

    id: int
    type: int
    name: str | None
    guild: FakeGuild | None = field(default=None, repr=False)
    parent: FakeChannel | None = field(default=None, repr=False)
    recipient: FakeUser | None = None
    position: int = 0
    topic: str | None = None
    nsfw: bool = False
    owner_id: int | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    deleted: bool = False

    @property
    def is_thread(self) -> bool:
        """True for thread channels."""
        return self.type in ChannelType.THREADS

    @property
    def is_dm(self) -> bool:
        """True for DM channels."""
        return self.type == ChannelType.DM

    @property
    def mention(self) -> str:
        """``<#id>``."""
        return f"<#{self.id}>"

    def to_json(self, *, bot_user: FakeUser | None = None, permissions: int | None = None) -> dict[str, Any]:
        """Channel object as Discord sends it; ``permissions`` is added for interaction payloads."""
        data: dict[str, Any] = {"id": str(self.id), "type": self.type, "flags": 0, "last_message_id": None}
        if self.is_dm:
            data["recipients"] = [self.recipient.to_json()] if self.recipient else []
        else:
            assert self.guild is not None
            data.update(
                guild_id=str(self.guild.id),
                name=self.name,
                position=self.position,
                nsfw=self.nsfw,
                parent_id=str(self.parent.id) if self.parent else None,
                rate_limit_per_user=0,
            )
            if self.is_thread:
                data.update(
                    owner_id=str(self.owner_id or (bot_user.id if bot_user else 0)),
                    message_count=0,
                    member_count=1,
                    total_message_sent=0,
                    thread_metadata={
                        "archived": False,
                        "auto_archive_duration": 1440,
                        "archive_timestamp": iso_now(),
                        "locked": False,
                    },
                )
            else:
                data.update(topic=self.topic, permission_overwrites=[o.to_json() for o in self.overwrites.values()])
            if self.type in (ChannelType.GUILD_VOICE, ChannelType.GUILD_STAGE_VOICE):
                data.update(bitrate=64000, user_limit=0, rtc_region=None, video_quality_mode=1)
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass(eq=False)
class FakeGuild:
    """A guild with its roles, channels (threads included) and members."""

    id: int
    name: str
    owner_id: int
    filesize_limit: int
    premium_tier: int = 0
    locale: str = "en-US"
    roles: dict[int, FakeRole] = field(default_factory=dict, repr=False)
    channels: dict[int, FakeChannel] = field(default_factory=dict, repr=False)
    members: dict[int, FakeMember] = field(default_factory=dict, repr=False)

    @property
    def everyone(self) -> FakeRole:
        """The @everyone role (its id is the guild id)."""
        return self.roles[self.id]

    def member(self, user: FakeUser | FakeMember | int) -> FakeMember | None:
        """The member for a user/member/id, or None."""
        uid = user if isinstance(user, int) else user.id
        return self.members.get(uid)


def base_permissions(member: FakeMember) -> int:
    """Guild-level permissions (owner and ADMINISTRATOR get everything)."""
    guild = member.guild
    if guild.owner_id == member.id:
        return ALL_PERMISSIONS
    perms = guild.everyone.permissions
    for role in member.roles:
        perms |= role.permissions
    if perms & PERMISSIONS["ADMINISTRATOR"]:
        return ALL_PERMISSIONS
    return perms


def channel_permissions(member: FakeMember, channel: FakeChannel) -> int:
    """Discord's permission algorithm: base, then @everyone, role and member overwrites."""
    perms = base_permissions(member)
    if perms & PERMISSIONS["ADMINISTRATOR"]:
        return ALL_PERMISSIONS
    source = channel.parent if channel.is_thread and channel.parent else channel
    everyone = source.overwrites.get(member.guild.id)
    if everyone:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    role_ids = {r.id for r in member.roles}
    for ow in source.overwrites.values():
        if ow.type == 0 and ow.id in role_ids:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    own = source.overwrites.get(member.id)
    if own and own.type == 1:
        perms = (perms & ~own.deny) | own.allow
    if not perms & PERMISSIONS["VIEW_CHANNEL"]:
        return 0
    if not perms & PERMISSIONS["SEND_MESSAGES"]:
        for implied in ("SEND_TTS_MESSAGES", "MENTION_EVERYONE", "EMBED_LINKS", "ATTACH_FILES"):
            perms &= ~PERMISSIONS[implied]
    return perms
