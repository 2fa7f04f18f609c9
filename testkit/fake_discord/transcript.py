"""Message store of the fake Discord: what users see in each channel.

Private helper module of :mod:`testkit.fake_discord`. Creating, editing and deleting
messages happens here; the REST layer calls it and then announces the change on the gateway.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .models import ChannelType, FakeChannel, FakeUser, Intents, MessageFlags, guess_content_type, iso_now
from .records import MENTION_ROLE, MENTION_USER, DiscordHTTPError, FakeMessage, FilePart, StoredAttachment

if TYPE_CHECKING:
    from .interaction import InteractionHandle
    from .server import FakeDiscord

log = logging.getLogger(__name__)

FILE_FIELD = re.compile(r"files\[(\d+)\]")
SETTABLE_FLAGS = MessageFlags.SUPPRESS_EMBEDS | MessageFlags.SUPPRESS_NOTIFICATIONS | MessageFlags.IS_COMPONENTS_V2

MessageWatcher = Callable[[str, FakeMessage], None]


class Transcript:
    """All messages and uploaded files, plus the nonce memory for ``enforce_nonce``."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.messages: dict[int, FakeMessage] = {}
        self.attachments: dict[int, StoredAttachment] = {}
        self.nonces: dict[tuple[int, int, str], tuple[int, float]] = {}
        self._watchers: list[MessageWatcher] = []

    # ------------------------------------------------------------------ watchers

    def watch(self, watcher: MessageWatcher) -> Callable[[], None]:
        """Call ``watcher(kind, msg)`` after every change ("create", "edit", "delete"); returns the unwatch.

        For live views (the playground's page): they need every change as it happens, ephemeral
        ones included, which the gateway never carries. Watchers run synchronously and must not raise.
        """
        self._watchers.append(watcher)

        def unwatch() -> None:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

        return unwatch

    def _changed(self, kind: str, msg: FakeMessage) -> None:
        for watcher in list(self._watchers):
            try:
                watcher(kind, msg)
            except Exception:
                log.exception("message watcher failed on %s of %s", kind, msg.id)

    # ------------------------------------------------------------------ uploads

    def store_upload(
        self,
        filename: str,
        data: bytes,
        content_type: str | None = None,
        *,
        description: str | None = None,
        ephemeral: bool = False,
    ) -> StoredAttachment:
        """Keep uploaded bytes and give them a URL under ``/att/``."""
        att_id = self.fake.new_id()
        stored = StoredAttachment(
            id=att_id,
            filename=filename,
            content_type=guess_content_type(filename, content_type),
            data=bytes(data),
            url=f"{self.fake.url}/att/{att_id}/{quote(filename)}",
            description=description,
            ephemeral=ephemeral,
        )
        self.attachments[att_id] = stored
        return stored

    def attachment_json(self, stored: StoredAttachment) -> dict[str, Any]:
        """The attachment object of a payload sent now: its URL signed afresh, as Discord does."""
        return stored.to_json(self.fake.cdn.sign(stored.url, stored.id))

    def _uploads(
        self, payload: Mapping[str, Any], parts: Sequence[FilePart], ephemeral: bool
    ) -> list[StoredAttachment]:
        specs = {str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, Mapping)}
        stored = []
        for part in parts:
            if part.name == "payload_json" or part.filename is None:
                continue
            match = FILE_FIELD.fullmatch(part.name)
            spec = specs.get(match.group(1) if match else "", {})
            filename = spec.get("filename") or part.filename
            stored.append(
                self.store_upload(
                    filename, part.data, part.content_type, description=spec.get("description"), ephemeral=ephemeral
                )
            )
        return stored

    # ------------------------------------------------------------------ mutation

    def create(
        self,
        channel: FakeChannel,
        author: FakeUser,
        payload: Mapping[str, Any],
        parts: Sequence[FilePart],
        *,
        msg_type: int = 0,
        extra_flags: int = 0,
        visible_to: int | None = None,
        interaction: InteractionHandle | None = None,
    ) -> FakeMessage:
        """Add a message to ``channel`` from an already validated create payload."""
        flags = ((payload.get("flags") or 0) & SETTABLE_FLAGS) | extra_flags
        msg = FakeMessage(
            id=self.fake.new_id(),
            channel_id=channel.id,
            guild_id=channel.guild.id if channel.guild else None,
            author=author,
            content=payload.get("content") or "",
            embeds=_embeds(payload.get("embeds")),
            components=list(payload.get("components") or []),
            flags=flags,
            type=msg_type,
            tts=bool(payload.get("tts")),
            nonce=payload.get("nonce"),
            allowed_mentions=payload.get("allowed_mentions"),
            message_reference=payload.get("message_reference"),
            visible_to=visible_to,
        )
        msg.attachments = self._uploads(payload, parts, ephemeral=msg.ephemeral)
        if interaction is not None:
            msg.interaction_id = interaction.id
            msg.webhook_id = self.fake.application_id
            msg.interaction_metadata = interaction.metadata_json()
        self._update_mentions(msg, channel)
        self.messages[msg.id] = msg
        self._changed("create", msg)
        return msg

    def edit(self, msg: FakeMessage, payload: Mapping[str, Any], parts: Sequence[FilePart]) -> None:
        """Apply an edit payload; resolving a loading placeholder does not count as an edit."""
        content = (payload.get("content") or "") if "content" in payload else msg.content
        embeds = _embeds(payload.get("embeds")) if "embeds" in payload else msg.embeds
        components = list(payload.get("components") or []) if "components" in payload else msg.components
        new_files = self._uploads(payload, parts, ephemeral=msg.ephemeral)
        if payload.get("attachments") is not None:
            keep = {str(a.get("id")) for a in payload["attachments"] if isinstance(a, Mapping)}
            attachments = [a for a in msg.attachments if str(a.id) in keep] + new_files
        else:
            attachments = msg.attachments + new_files
        if not (content.strip() or embeds or components or attachments):
            raise DiscordHTTPError(400, 50006, "Cannot send an empty message", violation="empty_message")
        msg.history.append(msg.snapshot())
        msg.content, msg.embeds, msg.components, msg.attachments = content, embeds, components, attachments
        if "allowed_mentions" in payload:
            msg.allowed_mentions = payload["allowed_mentions"]
        if payload.get("flags") is not None:
            msg.flags = (msg.flags & ~MessageFlags.SUPPRESS_EMBEDS) | (payload["flags"] & SETTABLE_FLAGS)
        if msg.loading:
            msg.flags &= ~MessageFlags.LOADING
        else:
            msg.edits += 1
            msg.edited_at = iso_now()
        channel = self.fake.channels.get(msg.channel_id)
        if channel is not None:
            self._update_mentions(msg, channel)
        self._changed("edit", msg)

    def delete(self, msg: FakeMessage) -> None:
        """Mark a message deleted (it stays in the store for assertions)."""
        msg.deleted = True
        self._changed("delete", msg)

    def remember_nonce(self, msg: FakeMessage, now: float) -> None:
        """Record an ``enforce_nonce`` message so a repeat returns it."""
        if msg.nonce is not None:
            self.nonces[(msg.channel_id, msg.author.id, str(msg.nonce))] = (msg.id, now)

    def find_nonce(self, channel_id: int, author_id: int, nonce: Any, now: float, window: float) -> FakeMessage | None:
        """The message created with this nonce within ``window`` seconds, if any."""
        hit = self.nonces.get((channel_id, author_id, str(nonce)))
        if hit is None or now - hit[1] > window:
            return None
        return self.messages.get(hit[0])

    def _update_mentions(self, msg: FakeMessage, channel: FakeChannel) -> None:
        users = list(dict.fromkeys(int(x) for x in MENTION_USER.findall(msg.content)))
        roles = list(dict.fromkeys(int(x) for x in MENTION_ROLE.findall(msg.content)))
        everyone = "@everyone" in msg.content or "@here" in msg.content
        allowed = msg.allowed_mentions
        if allowed is not None:
            parse = set(allowed.get("parse") or [])
            if "users" not in parse:
                users = [u for u in users if str(u) in {str(x) for x in allowed.get("users") or []}]
            if "roles" not in parse:
                roles = [r for r in roles if str(r) in {str(x) for x in allowed.get("roles") or []}]
            everyone = everyone and "everyone" in parse
        guild_roles = channel.guild.roles if channel.guild else {}
        msg.mentions = [u for u in users if u in self.fake.users]
        msg.mention_roles = [r for r in roles if r in guild_roles]
        msg.mention_everyone = everyone

    # ------------------------------------------------------------------ views

    def in_channel(
        self, channel_id: int, *, as_user: int | None = None, include_deleted: bool = False
    ) -> list[FakeMessage]:
        """Messages of a channel in order; ``as_user`` hides other people's ephemeral messages."""
        result = []
        for msg in self.messages.values():
            if msg.channel_id != channel_id or (msg.deleted and not include_deleted):
                continue
            if as_user is not None and msg.visible_to not in (None, as_user):
                continue
            result.append(msg)
        return sorted(result, key=lambda m: m.id)

    def to_json(self, msg: FakeMessage, *, gateway: bool = False) -> dict[str, Any]:
        """The message object Discord would send for ``msg``."""
        data: dict[str, Any] = {
            "id": str(msg.id),
            "channel_id": str(msg.channel_id),
            "type": msg.type,
            "content": msg.content,
            "author": msg.author.to_json(),
            "attachments": [self.attachment_json(a) for a in msg.attachments],
            "embeds": msg.embeds,
            "mentions": [self.fake.users[u].to_json() for u in msg.mentions],
            "mention_roles": [str(r) for r in msg.mention_roles],
            "mention_everyone": msg.mention_everyone,
            "pinned": False,
            "tts": msg.tts,
            "timestamp": msg.created_at,
            "edited_timestamp": msg.edited_at,
            "flags": msg.flags,
            "components": msg.components,
        }
        if msg.nonce is not None:
            data["nonce"] = msg.nonce
        if msg.webhook_id is not None:
            data["webhook_id"] = str(msg.webhook_id)
            data["application_id"] = str(msg.webhook_id)
        if msg.interaction_metadata is not None:
            data["interaction_metadata"] = msg.interaction_metadata
            meta = msg.interaction_metadata
            data["interaction"] = {
                "id": meta["id"],
                "type": meta["type"],
                "name": meta.get("name", ""),
                "user": meta["user"],
            }
        if msg.message_reference is not None:
            data["message_reference"] = msg.message_reference
        if gateway and msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
            guild = self.fake.guilds.get(msg.guild_id)
            member = guild.member(msg.author) if guild else None
            if member is not None:
                data["member"] = member.to_json(with_user=False)
        return data

    async def announce(self, event: str, msg: FakeMessage) -> None:
        """Send MESSAGE_CREATE/UPDATE/DELETE to the bot, as Discord would (never for ephemeral messages)."""
        if msg.ephemeral:
            return
        channel = self.fake.channels.get(msg.channel_id)
        in_dm = channel is not None and channel.type == ChannelType.DM
        intent = Intents.DIRECT_MESSAGES if in_dm else Intents.GUILD_MESSAGES
        stripped: dict[str, Any] | None = None
        if event == "MESSAGE_DELETE":
            data: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id is not None:
                data["guild_id"] = str(msg.guild_id)
        else:
            data = self.to_json(msg, gateway=True)
            bot_id = self.fake.bot_user.id
            if msg.author.id != bot_id and intent == Intents.GUILD_MESSAGES and bot_id not in msg.mentions:
                # Without MESSAGE_CONTENT Discord blanks what other people wrote.
                stripped = dict(data, content="", embeds=[], attachments=[], components=[])
        await self.fake.gateway.dispatch(event, data, intent=intent, without_content=stripped)
        await self.fake.notify()


def _embeds(value: Any) -> list[dict[str, Any]]:
    embeds = []
    for embed in value or []:
        embed = dict(embed)
        embed.setdefault("type", "rich")
        embeds.append(embed)
    return embeds
