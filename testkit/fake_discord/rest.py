"""REST side of the fake Discord: request parsing, routing, faults, rate limits and bot routes.

Private helper module of :mod:`testkit.fake_discord`. Interaction and webhook routes live
in :mod:`testkit.fake_discord.webhooks`. Every reply is sent with the exact content type
``application/json`` (discord.py ignores ``application/json; charset=utf-8``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import re
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from aiohttp import BodyPartReader, web

from .models import API_PREFIX, PERMISSIONS, FakeChannel, FakeGuild, base_permissions, channel_permissions
from .records import DiscordHTTPError, FakeMessage, FilePart, RequestRecord, Violation
from .sharding import gateway_bot
from .validation import validate_commands, validate_message
from .webhooks import WebhookRoutes

if TYPE_CHECKING:
    from .server import FakeDiscord

Handler = Callable[..., Awaitable[Any]]


@dataclass
class Reply:
    """A handler result with a non-default status or extra headers."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Route:
    """One REST route: ``pattern`` matches the path below ``/api/v10``."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str
    bot_auth: bool


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON reply with exactly ``Content-Type: application/json`` (no charset)."""
    if status == 204:
        return web.Response(status=204, headers=headers)
    return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json", headers=headers)


def _pattern(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{regex}$")


class RestApi:
    """Routing and the bot-token routes (users, applications, commands, channels, DMs)."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.webhooks = WebhookRoutes(fake)
        self.buckets: dict[int, list[float]] = {}  # channel id -> [count, window reset time]
        w = self.webhooks
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/gateway/bot", self.get_gateway_bot, True),
            ("GET", "/users/@me", self.get_me, True),
            ("GET", "/users/@me/guilds", self.my_guilds, True),
            ("GET", "/users/{uid}", self.get_user, True),
            ("GET", "/oauth2/applications/@me", self.get_application, True),
            ("GET", "/applications/{app}/commands", self.get_commands, True),
            ("PUT", "/applications/{app}/commands", self.put_commands, True),
            ("GET", "/applications/{app}/guilds/{guild}/commands", self.get_commands, True),
            ("PUT", "/applications/{app}/guilds/{guild}/commands", self.put_commands, True),
            ("POST", "/interactions/{iid}/{token}/callback", w.callback, False),
            ("GET", "/webhooks/{app}/{token}/messages/{mid}", w.get_message, False),
            ("PATCH", "/webhooks/{app}/{token}/messages/{mid}", w.edit_message, False),
            ("DELETE", "/webhooks/{app}/{token}/messages/{mid}", w.delete_message, False),
            ("POST", "/webhooks/{app}/{token}", w.followup, False),
            ("GET", "/guilds/{gid}/members/{uid}", self.get_member, True),
            ("GET", "/guilds/{gid}/channels", self.guild_channels, True),
            ("GET", "/guilds/{gid}/roles", self.guild_roles, True),
            ("GET", "/channels/{cid}", self.get_channel, True),
            ("POST", "/channels/{cid}/messages", self.create_message, True),
            ("GET", "/channels/{cid}/messages", self.list_messages, True),
            ("GET", "/channels/{cid}/messages/{mid}", self.get_message, True),
            ("PATCH", "/channels/{cid}/messages/{mid}", self.edit_message, True),
            ("DELETE", "/channels/{cid}/messages/{mid}", self.delete_message, True),
            ("POST", "/channels/{cid}/typing", self.typing, True),
            ("POST", "/users/@me/channels", self.open_dm, True),
        ]
        self.routes = [Route(m, _pattern(t), h, f"{m} {t}", auth) for m, t, h, auth in table]

    # ------------------------------------------------------------------ plumbing

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Entry point for every non-WebSocket HTTP request: log, fault injection, routing."""
        fake = self.fake
        is_api = request.path.startswith(API_PREFIX)
        record = RequestRecord(
            method=request.method,
            path=request.path[len(API_PREFIX) :] if is_api else request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            timestamp=asyncio.get_running_loop().time(),
        )
        fake.requests.append(record)
        try:
            await self._read_body(request, record)
        except ValueError:
            return await self._finish(record, DiscordHTTPError(400, 50109, "The request body contains invalid JSON."))
        await fake.notify()
        for rule in fake.faults:
            if rule.delay and not rule.delay_after and rule.matches(record.method, record.path):
                rule.hits += 1
                await asyncio.sleep(rule.delay)
                break
        for rule in fake.faults:
            if rule.status is not None and rule.matches(record.method, record.path):
                rule.hits += 1
                record.injected = True
                return await self._finish(record, Reply(rule.body, rule.status, dict(rule.headers or {})))
        if record.path.startswith("/att/") and record.method == "GET":
            return await self._attachment(record)
        if not is_api:
            return await self._unexpected(record)
        for route in self.routes:
            match = route.pattern.match(record.path) if route.method == record.method else None
            if match is None:
                continue
            record.route = route.name
            if route.bot_auth and request.headers.get("Authorization") != f"Bot {fake.token}":
                return await self._finish(record, DiscordHTTPError(401, 0, "401: Unauthorized"))
            try:
                result = await route.handler(record, **match.groupdict())
            except DiscordHTTPError as exc:
                result = exc
            except Exception as exc:  # a bug in the fake or a body it cannot read: fail fast, loudly
                fake.violations.append(Violation("internal_error", "".join(traceback.format_exception(exc)), record))
                result = DiscordHTTPError(400, 0, f"fake Discord could not handle this request: {exc!r}")
            for rule in fake.faults:
                if rule.delay_after and rule.matches(record.method, record.path):
                    rule.hits += 1
                    await fake.notify()
                    await asyncio.sleep(rule.delay_after)
                    break
            return await self._finish(record, result)
        return await self._unexpected(record)

    async def _unexpected(self, record: RequestRecord) -> web.Response:
        self.fake.unexpected_routes.append(f"{record.method} {record.path}")
        return await self._finish(record, DiscordHTTPError(404, 0, "404: Not Found"))

    async def _finish(self, record: RequestRecord, result: Any) -> web.Response:
        fake = self.fake
        if isinstance(result, DiscordHTTPError):
            if result.violation:
                fake.violations.append(Violation(result.violation, result.detail or result.message, record))
            reply = Reply(result.body(), result.status, result.headers)
        elif isinstance(result, Reply):
            reply = result
        else:
            reply = Reply(result, 200 if result is not None else 204)
        record.status, record.response = reply.status, reply.body
        await fake.notify()
        return json_response(reply.body, reply.status, reply.headers)

    async def _read_body(self, request: web.Request, record: RequestRecord) -> None:
        ctype = request.content_type
        if ctype == "multipart/form-data":
            reader = await request.multipart()
            async for item in reader:
                part = cast(BodyPartReader, item)
                data = await part.read(decode=False)
                name = part.name or ""
                record.parts.append(FilePart(name, part.filename, part.headers.get("Content-Type"), bytes(data)))
                if name == "payload_json":
                    record.json = json.loads(data.decode())
        elif request.can_read_body:
            text = await request.text()
            if text:
                record.json = json.loads(text)

    async def _attachment(self, record: RequestRecord) -> web.Response:
        match = re.match(r"^/att/(\d+)/", record.path)
        stored = self.fake.transcript.attachments.get(int(match.group(1))) if match else None
        if stored is not None and not self.fake.cdn.valid(stored.id, record.query):
            stored = None  # unsigned, tampered with or expired: Discord answers 404 too
        record.route = "GET /att/{id}/{filename}"
        record.status = 200 if stored is not None else 404
        await self.fake.notify()
        if stored is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored.data, content_type=stored.content_type)

    # ------------------------------------------------------------------ shared checks

    def channel(self, cid: str) -> FakeChannel:
        """The channel as the bot sees it: 404/10003 if unknown or deleted, 403/50001 if hidden."""
        channel = self.fake.channels.get(int(cid)) if cid.isdigit() else None
        if channel is None or channel.deleted:
            raise DiscordHTTPError(404, 10003, "Unknown Channel")
        if channel.guild is not None and not self.bot_perms(channel) & PERMISSIONS["VIEW_CHANNEL"]:
            raise DiscordHTTPError(403, 50001, "Missing Access")
        return channel

    def bot_perms(self, channel: FakeChannel) -> int:
        """The bot's permissions in a guild channel."""
        assert channel.guild is not None
        member = channel.guild.member(self.fake.bot_user)
        return channel_permissions(member, channel) if member else 0

    def require(self, channel: FakeChannel, *names: str) -> None:
        """403/50013 unless the bot has every named permission in ``channel``."""
        if channel.guild is None:
            return
        perms = self.bot_perms(channel)
        if any(not perms & PERMISSIONS[n] for n in names):
            raise DiscordHTTPError(403, 50013, "Missing Permissions")

    def channel_message(self, channel: FakeChannel, mid: str) -> FakeMessage:
        """A message of ``channel`` the bot can reach through channel routes (404/10008 otherwise)."""
        msg = self.fake.transcript.messages.get(int(mid)) if mid.isdigit() else None
        if msg is None or msg.channel_id != channel.id or msg.deleted or msg.ephemeral:
            raise DiscordHTTPError(404, 10008, "Unknown Message")
        return msg

    def rate_limit(self, channel: FakeChannel) -> dict[str, str]:
        """Per-channel message bucket; raises 429 like Discord when it is exhausted."""
        fake = self.fake
        if not fake.rate_limit_enabled:
            return {}
        limit, per = fake.rate_limit
        now = time.monotonic()
        bucket = self.buckets.setdefault(channel.id, [0, now + per])
        if now >= bucket[1]:
            bucket[0], bucket[1] = 0, now + per
        reset_after = max(bucket[1] - now, 0.001)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Bucket": f"fake-channel-messages-{channel.id}",
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        }
        if bucket[0] >= limit:
            headers.update(
                {
                    "X-RateLimit-Remaining": "0",
                    "Retry-After": str(math.ceil(reset_after)),
                    "X-RateLimit-Scope": "user",
                    "Via": "1.1 google",
                }
            )
            raise DiscordHTTPError(
                429,
                None,
                "You are being rate limited.",
                headers=headers,
                extra={"retry_after": round(reset_after, 3), "global": False},
            )
        bucket[0] += 1
        headers["X-RateLimit-Remaining"] = str(int(limit - bucket[0]))
        return headers

    def exhaust(self, channel: FakeChannel) -> None:
        """Use up the channel's bucket, as if other traffic had just posted there."""
        limit, per = self.fake.rate_limit
        self.buckets[channel.id] = [limit, time.monotonic() + per]

    # ------------------------------------------------------------------ users / application

    async def get_gateway_bot(self, req: RequestRecord) -> Any:
        """``GET /gateway/bot``: where to connect, how many shards, how many session starts are left."""
        fake, gateway = self.fake, self.fake.gateway
        return gateway_bot(
            fake.ws_url,
            len(fake.guilds),
            fake.recommended_shards,
            gateway.identify_count,
            gateway.pacer.max_concurrency,
        )

    async def get_me(self, req: RequestRecord) -> Any:
        """``GET /users/@me``."""
        return dict(self.fake.bot_user.to_json(), verified=True, mfa_enabled=False, locale="en-US", email=None)

    async def get_user(self, req: RequestRecord, uid: str) -> Any:
        """``GET /users/{id}`` (``Client.fetch_user``)."""
        user = self.fake.users.get(int(uid)) if uid.isdigit() else None
        if user is None:
            raise DiscordHTTPError(404, 10013, "Unknown User")
        return user.to_json()

    async def get_application(self, req: RequestRecord) -> Any:
        """``GET /oauth2/applications/@me``."""
        fake = self.fake
        return {
            "id": str(fake.application_id),
            "name": fake.bot_user.username,
            "icon": None,
            "description": "",
            "type": None,
            "summary": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": fake.owner.to_json(),
            "team": None,
            "bot": fake.bot_user.to_json(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "approximate_guild_count": len(fake.guilds),
            "integration_types_config": {"0": {}},
            "install_params": None,
            "tags": [],
        }

    async def my_guilds(self, req: RequestRecord) -> Any:
        """``GET /users/@me/guilds``: the bot's servers by id, ``after`` / ``limit`` (1-200, default 200) paging.

        Each carries ``permissions``: the bot's server-wide permissions (roles, no channel overwrites).
        """
        try:
            limit = int(req.query.get("limit", "200"))
            after = int(req.query.get("after", "0"))
        except ValueError:
            raise DiscordHTTPError(400, 50035, "Invalid Form Body") from None
        if not 1 <= limit <= 200:
            raise DiscordHTTPError(400, 50035, "Invalid Form Body")
        bot = self.fake.bot_user
        mine = sorted((g for g in self.fake.guilds.values() if g.member(bot) is not None), key=lambda g: g.id)
        page = [g for g in mine if g.id > after][:limit]
        return [
            {
                "id": str(g.id),
                "name": g.name,
                "icon": None,
                "banner": None,
                "owner": g.owner_id == bot.id,
                "permissions": str(base_permissions(member)),
                "features": [],
            }
            for g in page
            if (member := g.member(bot)) is not None
        ]

    def bot_guild(self, gid: str) -> FakeGuild:
        """A guild the bot is in (404/10004 "Unknown Guild" otherwise, as Discord answers a stranger)."""
        guild = self.fake.guilds.get(int(gid)) if gid.isdigit() else None
        if guild is None or guild.member(self.fake.bot_user) is None:
            raise DiscordHTTPError(404, 10004, "Unknown Guild")
        return guild

    async def guild_channels(self, req: RequestRecord, gid: str) -> Any:
        """``GET /guilds/{id}/channels``: every channel with its overwrites, threads excluded (as on Discord)."""
        guild = self.bot_guild(gid)
        channels = [c for c in guild.channels.values() if not c.is_thread and not c.deleted]
        return [c.to_json(bot_user=self.fake.bot_user) for c in sorted(channels, key=lambda c: (c.position, c.id))]

    async def guild_roles(self, req: RequestRecord, gid: str) -> Any:
        """``GET /guilds/{id}/roles``."""
        guild = self.bot_guild(gid)
        return [r.to_json() for r in sorted(guild.roles.values(), key=lambda r: (r.position, r.id))]

    async def get_member(self, req: RequestRecord, gid: str, uid: str) -> Any:
        """``GET /guilds/{id}/members/{id}`` (``Guild.fetch_member``): needs no privileged intent, as on Discord."""
        guild = self.fake.guilds.get(int(gid)) if gid.isdigit() else None
        if guild is None or guild.member(self.fake.bot_user) is None:
            raise DiscordHTTPError(404, 10004, "Unknown Guild")
        member = guild.member(int(uid)) if uid.isdigit() else None
        if member is None:  # never joined, or left
            raise DiscordHTTPError(404, 10007, "Unknown Member")
        return member.to_json()

    def _command_scope(self, app: str, guild: str | None) -> int | None:
        if app != str(self.fake.application_id):
            raise DiscordHTTPError(403, 50001, "Missing Access")
        if guild is None:
            return None
        if not guild.isdigit() or int(guild) not in self.fake.guilds:
            raise DiscordHTTPError(404, 10004, "Unknown Guild")
        return int(guild)

    async def get_commands(self, req: RequestRecord, app: str, guild: str | None = None) -> Any:
        """``GET /applications/{app}[/guilds/{guild}]/commands``."""
        gid = self._command_scope(app, guild)
        return copy.deepcopy(self.fake.commands_for(gid))

    async def put_commands(self, req: RequestRecord, app: str, guild: str | None = None) -> Any:
        """Bulk overwrite: validate like Discord, keep ids of commands that already existed."""
        fake = self.fake
        gid = self._command_scope(app, guild)
        validate_commands(req.json)
        old = {(c["type"], c["name"]): c for c in fake.commands_for(gid)}
        stored = []
        for body in req.json:
            command = {k: v for k, v in copy.deepcopy(body).items() if v is not None}
            command["type"] = command.get("type") or 1
            previous = old.get((command["type"], command["name"]))
            command["id"] = previous["id"] if previous else str(fake.new_id())
            command["application_id"] = str(fake.application_id)
            command["version"] = str(fake.new_id())
            command.setdefault("description", "")
            perms = body.get("default_member_permissions")
            command["default_member_permissions"] = None if perms is None else str(perms)
            command["dm_permission"] = body.get("dm_permission") is not False
            command.setdefault("integration_types", [0])
            command["contexts"] = body.get("contexts")
            command.setdefault("nsfw", False)
            if gid is not None:
                command["guild_id"] = str(gid)
                command.pop("dm_permission", None)
            stored.append(command)
        if gid is None:
            fake.global_commands = stored
        else:
            fake.guild_commands[gid] = stored
        fake.sync_count += 1
        fake.sync_log.append((gid, copy.deepcopy(req.json)))
        return copy.deepcopy(stored)

    # ------------------------------------------------------------------ channels

    async def get_channel(self, req: RequestRecord, cid: str) -> Any:
        """``GET /channels/{id}``."""
        channel = self.channel(cid)
        return channel.to_json(bot_user=self.fake.bot_user)

    async def create_message(self, req: RequestRecord, cid: str) -> Any:
        """``POST /channels/{id}/messages`` (JSON or multipart), with permissions, nonce and rate limit."""
        fake = self.fake
        channel = self.channel(cid)
        payload = req.json if isinstance(req.json, dict) else {}
        files = req.files
        if channel.recipient is not None and channel.recipient.dms_blocked:
            raise DiscordHTTPError(403, 50007, "Cannot send messages to this user")
        self.require(channel, "SEND_MESSAGES_IN_THREADS" if channel.is_thread else "SEND_MESSAGES")
        if files or payload.get("attachments"):
            self.require(channel, "ATTACH_FILES")
        if payload.get("embeds"):
            self.require(channel, "EMBED_LINKS")
        headers = self.rate_limit(channel)
        now = time.monotonic()
        if payload.get("enforce_nonce") and payload.get("nonce") is not None:
            original = fake.transcript.find_nonce(
                channel.id, fake.bot_user.id, payload["nonce"], now, fake.nonce_window
            )
            if original is not None:
                return Reply(fake.transcript.to_json(original), 200, headers)
        limit = channel.guild.filesize_limit if channel.guild else fake.dm_filesize_limit
        validate_message(payload, files, size_limit=limit, creating=True)
        ref = payload.get("message_reference")
        if ref is not None:
            target = fake.transcript.messages.get(int(ref.get("message_id") or 0))
            if target is None or target.deleted or target.channel_id != int(ref.get("channel_id") or channel.id):
                if ref.get("fail_if_not_exists", True):
                    raise DiscordHTTPError(
                        400,
                        50035,
                        "Invalid Form Body",
                        {
                            "message_reference": {
                                "_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]
                            }
                        },
                    )
                payload = {k: v for k, v in payload.items() if k != "message_reference"}
                ref = None
        msg = fake.transcript.create(channel, fake.bot_user, payload, files, msg_type=19 if ref else 0)
        if payload.get("enforce_nonce"):
            fake.transcript.remember_nonce(msg, now)
        await fake.transcript.announce("MESSAGE_CREATE", msg)
        return Reply(fake.transcript.to_json(msg), 200, headers)

    async def list_messages(self, req: RequestRecord, cid: str) -> Any:
        """``GET /channels/{id}/messages``: newest first; ``limit`` (1-100, default 50), ``before``, ``after``.

        With ``after`` the page holds the ``limit`` messages right after it (still newest first),
        as on Discord. Fetched messages carry no ``nonce``: only the create answer and
        MESSAGE_CREATE do, so a bot cannot find its earlier posts by nonce.
        """
        channel = self.channel(cid)
        self.require(channel, "READ_MESSAGE_HISTORY")
        try:
            limit = int(req.query.get("limit", "50"))
            before = int(req.query["before"]) if "before" in req.query else None
            after = int(req.query["after"]) if "after" in req.query else None
        except ValueError:
            raise DiscordHTTPError(400, 50035, "Invalid Form Body") from None
        if not 1 <= limit <= 100:
            raise DiscordHTTPError(400, 50035, "Invalid Form Body")
        history = [m for m in reversed(self.fake.messages(channel)) if not m.ephemeral]
        if before is not None:
            history = [m for m in history if m.id < before]
        if after is not None:
            history = [m for m in history if m.id > after][-limit:]
        return [self.fetched_json(m) for m in history[:limit]]

    def fetched_json(self, msg: FakeMessage) -> dict[str, Any]:
        """A message as GET returns it (no ``nonce``)."""
        data: dict[str, Any] = self.fake.transcript.to_json(msg)
        data.pop("nonce", None)
        return data

    async def get_message(self, req: RequestRecord, cid: str, mid: str) -> Any:
        """``GET /channels/{id}/messages/{id}``."""
        channel = self.channel(cid)
        self.require(channel, "READ_MESSAGE_HISTORY")
        return self.fetched_json(self.channel_message(channel, mid))

    async def edit_message(self, req: RequestRecord, cid: str, mid: str) -> Any:
        """``PATCH /channels/{id}/messages/{id}``: only the bot's own messages."""
        fake = self.fake
        channel = self.channel(cid)
        msg = self.channel_message(channel, mid)
        if msg.author.id != fake.bot_user.id:
            raise DiscordHTTPError(403, 50005, "Cannot edit a message authored by another user")
        payload = req.json if isinstance(req.json, dict) else {}
        limit = channel.guild.filesize_limit if channel.guild else fake.dm_filesize_limit
        validate_message(payload, req.files, size_limit=limit, creating=False)
        fake.transcript.edit(msg, payload, req.files)
        await fake.transcript.announce("MESSAGE_UPDATE", msg)
        return fake.transcript.to_json(msg)

    async def delete_message(self, req: RequestRecord, cid: str, mid: str) -> Any:
        """``DELETE /channels/{id}/messages/{id}``: others' messages need MANAGE_MESSAGES."""
        fake = self.fake
        channel = self.channel(cid)
        msg = self.channel_message(channel, mid)
        if msg.author.id != fake.bot_user.id:
            self.require(channel, "MANAGE_MESSAGES")
        fake.transcript.delete(msg)
        await fake.transcript.announce("MESSAGE_DELETE", msg)
        return None

    async def typing(self, req: RequestRecord, cid: str) -> Any:
        """``POST /channels/{id}/typing`` -> 204."""
        channel = self.channel(cid)
        self.require(channel, "SEND_MESSAGES_IN_THREADS" if channel.is_thread else "SEND_MESSAGES")
        return None

    async def open_dm(self, req: RequestRecord) -> Any:
        """``POST /users/@me/channels`` with ``recipient_id``."""
        fake = self.fake
        recipient = (req.json or {}).get("recipient_id")
        user = fake.users.get(int(str(recipient))) if str(recipient).isdigit() else None
        if user is None:
            raise DiscordHTTPError(404, 10013, "Unknown User")
        return fake.dm_channel_for(user).to_json()
