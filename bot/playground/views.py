"""What the page is sent: the world, the command picker and messages, as plain JSON.

The page renders these shapes and nothing else, so the browser never sees the fake's own port:
attachment and embed image URLs are rewritten to the playground's ``/files/...`` route.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, urlsplit

from testkit.fake_discord import (
    OPTION_TYPE_NAMES,
    PERMISSIONS,
    FakeChannel,
    FakeMember,
    FakeMessage,
    FakeUser,
    StoredAttachment,
)
from testkit.fake_discord.models import base_permissions, channel_permissions

from .world import PlaygroundWorld

log = logging.getLogger(__name__)

OPTION_LIMITS = ("min_value", "max_value", "min_length", "max_length", "channel_types", "autocomplete")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def display_name(user: FakeUser) -> str:
    """The name Discord shows for a user."""
    return user.global_name or user.username


def can_see(member: FakeMember, channel: FakeChannel) -> bool:
    """Whether the member has View Channel there (the sidebar lists only those)."""
    return bool(channel_permissions(member, channel) & PERMISSIONS["VIEW_CHANNEL"])


def world_json(world: PlaygroundWorld) -> dict[str, Any]:
    """The guild, its channels (with who can see each), its roles, members and who can be played."""
    guild, fake = world.guild, world.fake
    players = {m.id for m in world.players}
    return {
        "guild": {"id": str(guild.id), "name": guild.name},
        "bot": {"id": str(fake.bot_user.id), "name": display_name(fake.bot_user)},
        "channels": [
            {
                "id": str(c.id),
                "name": c.name,
                "topic": c.topic or "",
                "visible_to": [str(m.id) for m in world.players if can_see(m, c)],
            }
            for c in world.channels
        ],
        "roles": [
            {"id": str(r.id), "name": r.name, "color": r.color}
            for r in sorted(guild.roles.values(), key=lambda r: -r.position)
            if r.id != guild.id and r.managed_by_bot is None
        ],
        "members": [
            {
                "id": str(m.id),
                "name": display_name(m.user),
                "username": m.username,
                "bot": m.user.bot,
                "playable": m.id in players,
                "roles": [r.name for r in m.roles if r.id != guild.id],
                "moderator": bool(base_permissions(m) & PERMISSIONS["MANAGE_GUILD"]),
            }
            for m in guild.members.values()
            if m.id != guild.owner_id or m.id in players
        ],
        "players": [str(m.id) for m in world.players],
    }


# --------------------------------------------------------------------------- commands


def commands_json(world: PlaygroundWorld, member: FakeMember, channel: FakeChannel) -> list[dict[str, Any]]:
    """The chat-input commands the member's picker lists here, one entry per runnable (sub)command path."""
    fake = world.fake
    seen: set[str] = set()
    entries: list[dict[str, Any]] = []
    for command in list(fake.guild_commands.get(world.guild.id, [])) + list(fake.global_commands):
        if command.get("type", 1) != 1 or command["name"] in seen:
            continue
        seen.add(command["name"])
        if fake.simulator.unavailable_reason(command, member, channel) is not None:
            continue
        entries += _leaves([command["name"]], command)
    return sorted(entries, key=lambda e: str(e["path"]))


def _leaves(path: list[str], node: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(node.get("options") or [])
    subs = [o for o in options if o.get("type") in (1, 2)]
    if subs:
        return [leaf for sub in subs for leaf in _leaves([*path, sub["name"]], sub)]
    return [
        {
            "path": " ".join(path),
            "description": node.get("description", ""),
            "options": [option_json(o) for o in options],
        }
    ]


def option_json(option: dict[str, Any]) -> dict[str, Any]:
    """One option as the page's form builds an input for it."""
    data: dict[str, Any] = {
        "name": option["name"],
        "description": option.get("description", ""),
        "type": int(option["type"]),
        "kind": OPTION_TYPE_NAMES.get(int(option["type"]), "string"),
        "required": bool(option.get("required")),
        "choices": [{"name": c["name"], "value": c["value"]} for c in option.get("choices") or []],
    }
    for key in OPTION_LIMITS:
        if option.get(key) is not None:
            data[key] = option[key]
    return data


# --------------------------------------------------------------------------- messages


def file_url(attachment: StoredAttachment) -> str:
    """The playground's own address of an uploaded or posted file."""
    return f"/files/{attachment.id}/{quote(attachment.filename)}"


def message_json(world: PlaygroundWorld, msg: FakeMessage) -> dict[str, Any]:
    """A message as the page draws it; the viewer check is the caller's."""
    fake = world.fake
    meta = msg.interaction_metadata or {}
    interaction = None
    if meta.get("name"):
        user = fake.users.get(int(meta["user"]["id"]))
        interaction = {"name": meta["name"], "user": display_name(user) if user else meta["user"]["username"]}
    return {
        "id": str(msg.id),
        "channel_id": str(msg.channel_id),
        "author": {"id": str(msg.author.id), "name": display_name(msg.author), "bot": msg.author.bot},
        "content": msg.content,
        "embeds": [_embed(world, msg, e) for e in msg.embeds],
        "attachments": [
            {
                "id": str(a.id),
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "url": file_url(a),
                "image": a.content_type in IMAGE_TYPES,
            }
            for a in msg.attachments
        ],
        "components": msg.components,
        "ephemeral": msg.ephemeral,
        "visible_to": str(msg.visible_to) if msg.visible_to is not None else None,
        "loading": msg.loading,
        "edited": msg.edits > 0,
        "deleted": msg.deleted,
        "timestamp": msg.created_at,
        "interaction": interaction,
    }


def _embed(world: PlaygroundWorld, msg: FakeMessage, embed: dict[str, Any]) -> dict[str, Any]:
    out = dict(embed)
    for key in ("image", "thumbnail"):
        part = embed.get(key)
        if isinstance(part, dict) and part.get("url"):
            out[key] = dict(part, url=local_url(world, msg, str(part["url"])))
    return out


def local_url(world: PlaygroundWorld, msg: FakeMessage, url: str) -> str:
    """``attachment://name`` or a fake CDN link as the playground's ``/files/...``; anything else as is."""
    if url.startswith("attachment://"):
        name = url.removeprefix("attachment://")
        found = next((a for a in msg.attachments if a.filename == name), None)
        return file_url(found) if found else url
    parts = urlsplit(url)
    if parts.path.startswith("/att/"):
        pieces = parts.path.split("/")
        if len(pieces) > 2 and pieces[2].isdigit():
            stored = world.fake.transcript.attachments.get(int(pieces[2]))
            if stored is not None:
                return file_url(stored)
    return url
