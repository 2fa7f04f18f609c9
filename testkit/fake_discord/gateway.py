"""Gateway WebSocket of the fake Discord (text JSON frames, API v10).

Private helper module of :mod:`testkit.fake_discord`. Implements HELLO, heartbeats,
IDENTIFY -> READY + GUILD_CREATE, RESUME with replay of missed events, op 8 member chunks,
INVALID_SESSION and RECONNECT, with per-session sequence numbers as Discord keeps them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .models import FakeGuild, Intents
from .sharding import GUILDS_PER_SHARD_MAX, IdentifyPacer, guild_of_event, parse_shard, receives

if TYPE_CHECKING:
    from .server import FakeDiscord

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41250
# Close codes after which Discord keeps the session resumable.
CLIENT_CLOSE_ENDS_SESSION = (1000, 1001)


@dataclass(eq=False)
class GatewayConnection:
    """One WebSocket connection."""

    ws: web.WebSocketResponse
    session: GatewaySession | None = None
    closed_by_server: bool = False


@dataclass(eq=False)
class GatewaySession:
    """A gateway session: sequence counter and every dispatched frame (for RESUME replay)."""

    id: str
    intents: int
    shard: tuple[int, int] | None = None  # [id, n] from IDENTIFY; None = unsharded (gets every event)
    seq: int = 0
    events: list[tuple[int, str]] = field(default_factory=list)
    conn: GatewayConnection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Gateway:
    """Gateway server state; one instance per :class:`FakeDiscord`."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: set[GatewayConnection] = set()
        self.identify_count = 0
        self.resume_count = 0
        self.received: list[dict[str, Any]] = []
        self.presence_updates: list[Any] = []
        self.pacer = IdentifyPacer()  # sharded IDENTIFYs: one per max_concurrency bucket per 5 s

    # ------------------------------------------------------------------ connection

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for the WebSocket upgrade at ``/``."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        conn = GatewayConnection(ws)
        self.connections.add(conn)
        try:
            await self._send(conn, {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}, "s": None, "t": None})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.received.append(frame)
                await self._on_frame(conn, frame)
        finally:
            self.connections.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                if not conn.closed_by_server and ws.close_code in CLIENT_CLOSE_ENDS_SESSION:
                    self.sessions.pop(session.id, None)
            await self.fake.notify()
        return ws

    async def _send(self, conn: GatewayConnection, payload: Any) -> bool:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        if conn.ws.closed:
            return False
        try:
            await conn.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return False
        return True

    async def _close(self, conn: GatewayConnection, code: int, reason: str = "") -> None:
        conn.closed_by_server = True
        await conn.ws.close(code=code, message=reason.encode())

    async def _on_frame(self, conn: GatewayConnection, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            await self._send(conn, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await self._close(conn, 4003, "Not authenticated.")
        elif op == 3:
            self.presence_updates.append(data)
        elif op == 8:
            await self._member_chunk(conn.session, data or {})
        elif op == 4:
            pass  # voice state update: nothing to do for a text bot
        else:
            await self._close(conn, 4001, "Unknown opcode.")

    async def _identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        fake = self.fake
        if conn.session is not None:
            await self._close(conn, 4005, "Already authenticated.")
            return
        if data.get("token") != fake.token:
            await self._close(conn, 4004, "Authentication failed.")
            return
        intents = int(data.get("intents") or 0)
        if intents & Intents.PRIVILEGED & ~fake.allowed_intents:
            await self._close(conn, 4014, "Disallowed intent(s).")
            return
        shard: tuple[int, int] | None = None
        if data.get("shard") is not None:
            shard = parse_shard(data["shard"])
            if shard is None:
                await self._close(conn, 4010, "Invalid shard.")
                return
        guilds = [g for g in fake.guilds.values() if receives(shard, g.id)]
        if len(guilds) > GUILDS_PER_SHARD_MAX:
            await self._close(conn, 4011, "Sharding required.")
            return
        if shard is not None and shard[1] > 1 and not self.pacer.admit(shard[0], asyncio.get_running_loop().time()):
            await self._send(conn, {"op": 9, "d": False, "s": None, "t": None})  # too fast for its bucket
            return
        session = GatewaySession(id=secrets.token_hex(16), intents=intents, shard=shard, conn=conn)
        conn.session = session
        self.sessions[session.id] = session
        self.identify_count += 1
        ready = {
            "v": 10,
            "user": dict(fake.bot_user.to_json(), verified=True, mfa_enabled=False, email=None),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": fake.ws_url,
            "application": {"id": str(fake.application_id), "flags": 0},
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        if data.get("shard") is not None:
            ready["shard"] = data["shard"]
        await self._dispatch_to(session, "READY", ready)
        for guild in guilds:
            await self._dispatch_to(session, "GUILD_CREATE", self.guild_create(guild, intents))
        await fake.notify()

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.fake.token:
            await self._send(conn, {"op": 9, "d": False, "s": None, "t": None})
            return
        seq = int(data.get("seq") or 0)
        async with session.lock:
            old = session.conn
            session.conn = conn
            conn.session = session
            if old is not None and old is not conn:
                await self._close(old, 4000, "Session resumed elsewhere.")
            for event_seq, text in session.events:
                if event_seq > seq:
                    await self._send(conn, text)
        await self._dispatch_to(session, "RESUMED", {"_trace": ["fake-discord"]})
        self.resume_count += 1
        await self.fake.notify()

    async def _member_chunk(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self.fake.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        members = list(guild.members.values())
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if m.id in wanted]
        elif data.get("query"):
            members = [m for m in members if m.username.lower().startswith(str(data["query"]).lower())]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.to_json() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    # ------------------------------------------------------------------ payloads

    def guild_create(self, guild: FakeGuild, intents: int) -> dict[str, Any]:
        """GUILD_CREATE payload. Members beyond the bot are only sent with the GUILD_MEMBERS intent."""
        fake = self.fake
        bot_member = guild.member(fake.bot_user)
        if intents & Intents.GUILD_MEMBERS:
            members = list(guild.members.values())
        else:
            members = [bot_member] if bot_member else []
        channels = [c for c in guild.channels.values() if not c.deleted]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.to_json() for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": guild.premium_tier,
            "premium_subscription_count": 0,
            "preferred_locale": guild.locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "joined_at": bot_member.joined_at if bot_member else None,
            "large": False,
            "unavailable": False,
            "member_count": len(guild.members),
            "voice_states": [],
            "presences": [],
            "members": [m.to_json() for m in members],
            "channels": [c.to_json() for c in channels if not c.is_thread],
            "threads": [c.to_json(bot_user=fake.bot_user) for c in channels if c.is_thread],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "lazy": True,
        }

    # ------------------------------------------------------------------ dispatch

    async def _dispatch_to(self, session: GatewaySession, event: str, data: Any) -> None:
        async with session.lock:
            session.seq += 1
            text = json.dumps({"op": 0, "t": event, "s": session.seq, "d": data})
            session.events.append((session.seq, text))
            if session.conn is not None and not await self._send(session.conn, text):
                session.conn = None

    async def dispatch(
        self, event: str, data: Any, *, intent: int | None = None, without_content: Any | None = None
    ) -> int:
        """Send a DISPATCH to every session of the event's shard (buffered for replay while disconnected).

        ``intent``: only sessions that identified with this intent bit get the event.
        ``without_content``: payload for sessions lacking MESSAGE_CONTENT. Returns the number of sessions.
        """
        count = 0
        guild_id = guild_of_event(event, data)
        for session in list(self.sessions.values()):
            if intent is not None and not session.intents & intent:
                continue
            if not receives(session.shard, guild_id):
                continue
            payload = data
            if without_content is not None and not session.intents & Intents.MESSAGE_CONTENT:
                payload = without_content
            await self._dispatch_to(session, event, payload)
            count += 1
        return count

    async def send_op(self, op: int, data: Any) -> None:
        """Send a raw non-dispatch opcode on every open connection."""
        for conn in list(self.connections):
            await self._send(conn, {"op": op, "d": data, "s": None, "t": None})

    async def close_all(self, code: int) -> None:
        """Close every connection with ``code``; sessions stay resumable unless Discord would drop them."""
        await asyncio.gather(*(self._close(conn, code) for conn in list(self.connections)))

    async def invalidate(self, resumable: bool) -> None:
        """Send op 9 INVALID_SESSION; with ``resumable=False`` the sessions are forgotten."""
        await self.send_op(9, resumable)
        if not resumable:
            self.sessions.clear()
