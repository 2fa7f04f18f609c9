"""FakeDiscord, the one object a test holds: world building, user actions, observation and waiting.

The package docstring (:mod:`testkit.fake_discord`) is the guide to what the fake implements.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast

from aiohttp import web

from .cdn import DEFAULT_ATTACHMENT_TTL, Cdn, FakeClock
from .client import ClientRefusal, ClientSimulator
from .gateway import Gateway
from .interaction import InteractionHandle
from .models import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DEFAULT_FILESIZE_LIMIT,
    MIB,
    PREMIUM_TIER_FILESIZE,
    ChannelType,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Intents,
    Overwrite,
    PermissionsLike,
    SnowflakeFactory,
    resolve_permissions,
)
from .records import FakeMessage, FaultRule, RequestRecord, Violation
from .rest import RestApi
from .sharding import receives
from .transcript import Transcript

T = TypeVar("T")
Actor = FakeUser | FakeMember


class WaitTimeout(AssertionError):
    """A ``wait_for*`` helper timed out; the message summarises what the fake saw."""


class FakeDiscord:
    """Offline Discord: REST + gateway + client simulator + transcript. See the module docstring."""

    def __init__(
        self,
        *,
        token: str = "fake-token",
        bot_name: str = "EggBot",
        ack_deadline: float = 3.0,
        token_ttl: float = 900.0,
        nonce_window: float = 300.0,
        rate_limit: bool = False,
        rate_limit_per: tuple[int, float] = (5, 5.0),
        allowed_intents: int = Intents.PRIVILEGED,
        dm_filesize_limit: int = DEFAULT_FILESIZE_LIMIT,
        bot_permissions: PermissionsLike = DEFAULT_BOT_PERMISSIONS,
        attachment_ttl: float = DEFAULT_ATTACHMENT_TTL,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.ack_deadline = ack_deadline
        self.token_ttl = token_ttl
        self.nonce_window = nonce_window
        self.rate_limit_enabled = rate_limit
        self.rate_limit = rate_limit_per
        self.allowed_intents = allowed_intents
        self.dm_filesize_limit = dm_filesize_limit
        self.bot_permissions = resolve_permissions(bot_permissions)
        self._host, self._port = host, port
        self._ids = SnowflakeFactory()
        self.clock = FakeClock()
        self.cdn = Cdn(self.clock, attachment_ttl)
        self.users: dict[int, FakeUser] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self._dm_channels: dict[int, FakeChannel] = {}
        self.bot_user = self.add_user(bot_name, bot=True)
        self.application_id = self.bot_user.id
        self.owner = self.add_user("owner")
        self.recommended_shards: int | None = None  # GET /gateway/bot; None = one per 1,000 guilds
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.sync_count = 0
        self.sync_log: list[tuple[int | None, Any]] = []
        self.requests: list[RequestRecord] = []
        self.unexpected_routes: list[str] = []
        self.violations: list[Violation] = []
        self.faults: list[FaultRule] = []
        self.interactions: dict[int, InteractionHandle] = {}
        self.interactions_by_token: dict[str, InteractionHandle] = {}
        self.transcript = Transcript(self)
        self.gateway = Gateway(self)
        self.rest = RestApi(self)
        self.simulator = ClientSimulator(self)
        self._cond = asyncio.Condition()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (after ``start()``)."""
        if self._url is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._url

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"{self.url}/api/v10"

    @property
    def ws_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY`` and READY's ``resume_gateway_url``."""
        return self.url.replace("http://", "ws://", 1) + "/"

    async def start(self) -> None:
        """Listen on ``host:port`` (port 0 picks a free one)."""
        app = web.Application(client_max_size=256 * MIB)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self._url = f"http://{self._host}:{port}"

    async def stop(self) -> None:
        """Close gateway sockets, stop timers and background tasks, and shut the server down."""
        for handle in self.interactions.values():
            handle.cancel_deadline()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self.gateway.close_all(1001)
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/" and request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.gateway.handle(request)
        return await self.rest.handle(request)

    # ------------------------------------------------------------------ internals shared by the modules

    def new_id(self) -> int:
        """A fresh snowflake."""
        return self._ids.next()

    def spawn(self, coro: Awaitable[Any]) -> None:
        """Run ``coro`` in the background (cancelled by ``stop()``)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def notify(self) -> None:
        """Wake every ``wait_for*`` so it re-checks its predicate."""
        async with self._cond:
            self._cond.notify_all()

    def _announce(self, event: str, data: Any, intent: int | None = None) -> None:
        if self.gateway.sessions:
            self.spawn(self.gateway.dispatch(event, data, intent=intent))

    def commands_for(self, guild_id: int | None) -> list[dict[str, Any]]:
        """Synced commands: global ones for None, else that guild's."""
        return self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])

    # ------------------------------------------------------------------ world builders

    def add_user(
        self,
        username: str,
        *,
        global_name: str | None = None,
        bot: bool = False,
        locale: str = "en-US",
        upload_limit: int | None = None,
    ) -> FakeUser:
        """Create a user (not in any guild yet); ``upload_limit`` is their Nitro upload limit, if any."""
        user = FakeUser(
            self.new_id(), username, global_name=global_name, bot=bot, locale=locale, upload_limit=upload_limit
        )
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        premium_tier: int = 0,
        filesize_limit: int | None = None,
        owner: FakeUser | None = None,
        locale: str = "en-US",
        shard: tuple[int, int] | None = None,
    ) -> FakeGuild:
        """Create a guild with @everyone, the bot (with its managed role) and the owner as members.

        ``shard=(id, n)`` picks a guild id that Discord's formula routes to shard ``id`` of ``n``.
        """
        owner = owner or self.owner
        limit = filesize_limit or PREMIUM_TIER_FILESIZE.get(premium_tier, DEFAULT_FILESIZE_LIMIT)
        ident = self.new_id() if shard is None else self._ids.next_on_shard(*shard)
        guild = FakeGuild(ident, name, owner.id, filesize_limit=limit, premium_tier=premium_tier, locale=locale)
        guild.roles[guild.id] = FakeRole(guild.id, guild.id, "@everyone", DEFAULT_EVERYONE_PERMISSIONS)
        self.guilds[guild.id] = guild
        bot_role = FakeRole(
            self.new_id(),
            guild.id,
            self.bot_user.username,
            self.bot_permissions,
            position=1,
            managed_by_bot=self.bot_user.id,
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[self.bot_user.id] = FakeMember(self.bot_user, guild, [bot_role])
        guild.members[owner.id] = FakeMember(owner, guild)
        if self.gateway.sessions:
            for session in list(self.gateway.sessions.values()):
                if not receives(session.shard, guild.id):
                    continue
                self.spawn(
                    self.gateway._dispatch_to(
                        session, "GUILD_CREATE", self.gateway.guild_create(guild, session.intents)
                    )
                )
        return guild

    def add_channel(
        self,
        guild: FakeGuild,
        name: str,
        type: int = ChannelType.GUILD_TEXT,
        *,
        topic: str | None = None,
        nsfw: bool = False,
        parent: FakeChannel | None = None,
    ) -> FakeChannel:
        """Create a guild channel (text by default; ``parent`` is a category)."""
        channel = FakeChannel(
            self.new_id(),
            type,
            name,
            guild=guild,
            parent=parent,
            topic=topic,
            nsfw=nsfw,
            position=sum(1 for c in guild.channels.values() if not c.is_thread),
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self._announce("CHANNEL_CREATE", channel.to_json())
        return channel

    def add_thread(
        self, parent: FakeChannel, name: str, *, private: bool = False, owner: Actor | None = None
    ) -> FakeChannel:
        """Create a thread (type 11, or 12 if private) under a text channel."""
        assert parent.guild is not None, "threads live in guild channels"
        owner_user = owner.user if isinstance(owner, FakeMember) else owner
        thread = FakeChannel(
            self.new_id(),
            ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD,
            name,
            guild=parent.guild,
            parent=parent,
            owner_id=(owner_user or self.bot_user).id,
        )
        parent.guild.channels[thread.id] = thread
        self.channels[thread.id] = thread
        self._announce("THREAD_CREATE", dict(thread.to_json(bot_user=self.bot_user), newly_created=True))
        return thread

    def add_role(
        self,
        guild: FakeGuild,
        name: str,
        permissions: PermissionsLike = 0,
        *,
        color: int = 0,
        mentionable: bool = False,
        hoist: bool = False,
    ) -> FakeRole:
        """Create a role."""
        role = FakeRole(
            self.new_id(),
            guild.id,
            name,
            resolve_permissions(permissions),
            position=len(guild.roles),
            color=color,
            mentionable=mentionable,
            hoist=hoist,
        )
        guild.roles[role.id] = role
        self._announce("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.to_json()})
        return role

    def add_member(
        self,
        guild: FakeGuild,
        user: str | FakeUser,
        *,
        roles: Iterable[FakeRole | str] = (),
        permissions: PermissionsLike | None = None,
        nick: str | None = None,
    ) -> FakeMember:
        """Add a user (created from a name if needed) to a guild."""
        person = self.add_user(user) if isinstance(user, str) else user
        member_roles = []
        for role in roles:
            if isinstance(role, str):
                found = next((r for r in guild.roles.values() if r.name == role), None)
                if found is None:
                    raise KeyError(f"guild {guild.name} has no role {role!r}")
                role = found
            member_roles.append(role)
        if permissions is not None:
            member_roles.append(self.add_role(guild, f"{person.username}-perms", permissions))
        member = FakeMember(person, guild, member_roles, nick=nick)
        guild.members[person.id] = member
        self._announce("GUILD_MEMBER_ADD", dict(member.to_json(), guild_id=str(guild.id)), Intents.GUILD_MEMBERS)
        return member

    def remove_member(self, guild: FakeGuild, user: Actor) -> None:
        """The user leaves the guild (or is kicked): its member routes answer 404/10007 from now on."""
        member = guild.members.pop(user.id)
        self._announce(
            "GUILD_MEMBER_REMOVE", {"guild_id": str(guild.id), "user": member.user.to_json()}, Intents.GUILD_MEMBERS
        )

    def dm_channel_for(self, user: Actor) -> FakeChannel:
        """The DM channel between the bot and ``user`` (created on first use)."""
        person = user.user if isinstance(user, FakeMember) else user
        channel = self._dm_channels.get(person.id)
        if channel is None:
            channel = FakeChannel(self.new_id(), ChannelType.DM, None, recipient=person)
            self._dm_channels[person.id] = channel
            self.channels[channel.id] = channel
        return channel

    # ------------------------------------------------------------------ controls

    def set_permissions(
        self,
        channel: FakeChannel,
        target: FakeRole | FakeMember | FakeUser | str,
        *,
        allow: PermissionsLike | None = None,
        deny: PermissionsLike | None = None,
    ) -> None:
        """Set (or with both None, remove) a permission overwrite and send CHANNEL_UPDATE."""
        assert channel.guild is not None and not channel.is_thread, "overwrites live on guild channels"
        if target == "everyone":
            target_id, kind = channel.guild.id, 0
        elif isinstance(target, FakeRole):
            target_id, kind = target.id, 0
        elif isinstance(target, (FakeMember, FakeUser)):
            target_id, kind = target.id, 1
        else:
            raise TypeError(f"unsupported overwrite target {target!r}")
        if allow is None and deny is None:
            channel.overwrites.pop(target_id, None)
        else:
            channel.overwrites[target_id] = Overwrite(
                target_id, kind, resolve_permissions(allow or 0), resolve_permissions(deny or 0)
            )
        self._announce("CHANNEL_UPDATE", channel.to_json())

    def deny_bot(self, channel: FakeChannel, *permissions: PermissionsLike) -> None:
        """Deny the bot these permissions in ``channel`` (adds to its member overwrite)."""
        target = channel.parent if channel.is_thread and channel.parent else channel
        bits = resolve_permissions(list(permissions))
        current = target.overwrites.get(self.bot_user.id, Overwrite(self.bot_user.id, 1))
        self.set_permissions(target, self.bot_user, allow=current.allow & ~bits, deny=current.deny | bits)

    def delete_channel(self, channel: FakeChannel) -> None:
        """Delete a channel (and its threads); later requests get 404/10003."""
        doomed = [channel] + [c for c in self.channels.values() if c.parent is channel and c.is_thread]
        for item in doomed:
            if item.deleted:
                continue
            item.deleted = True
            if item.is_thread:
                assert item.guild is not None and item.parent is not None
                self._announce(
                    "THREAD_DELETE",
                    {
                        "id": str(item.id),
                        "guild_id": str(item.guild.id),
                        "parent_id": str(item.parent.id),
                        "type": item.type,
                    },
                )
            elif item.guild is not None:
                self._announce("CHANNEL_DELETE", item.to_json())

    def block_dms(self, user: Actor, blocked: bool = True) -> None:
        """Make the bot's DMs to ``user`` fail with 403/50007 (or work again)."""
        (user.user if isinstance(user, FakeMember) else user).dms_blocked = blocked

    def enable_rate_limit(self, limit: int = 5, per: float = 5.0) -> None:
        """Turn on the per-channel message rate limit (``limit`` messages per ``per`` seconds)."""
        self.rate_limit_enabled = True
        self.rate_limit = (limit, per)

    def disable_rate_limit(self) -> None:
        """Turn the message rate limit off."""
        self.rate_limit_enabled = False

    def exhaust_rate_limit(self, channel: FakeChannel) -> None:
        """Spend the channel's bucket now, as if other traffic had posted (needs the limit enabled)."""
        self.rest.exhaust(channel)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        json_body: Any = None,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> FaultRule:
        """Answer the next ``times`` matching requests with ``status`` and ``json_body``."""
        if headers is None and status == 429:
            headers = {"Via": "1.1 google", "Retry-After": "1", "X-RateLimit-Scope": "user"}
        rule = FaultRule(
            method.upper(), re.compile(path_regex), times, status=status, body=json_body, headers=dict(headers or {})
        )
        self.faults.append(rule)
        return rule

    def delay_next(self, method: str, path_regex: str, seconds: float, times: int = 1) -> FaultRule:
        """Hold the next ``times`` matching requests for ``seconds`` before handling them."""
        rule = FaultRule(method.upper(), re.compile(path_regex), times, delay=seconds)
        self.faults.append(rule)
        return rule

    def answer_late(self, method: str, path_regex: str, seconds: float, times: int = 1) -> FaultRule:
        """Handle the next matching requests at once but answer only after ``seconds``.

        Killing the bot meanwhile loses the answer but not the effect (a message is posted,
        its id never reaches the bot): the crash-after-posting case.
        """
        rule = FaultRule(method.upper(), re.compile(path_regex), times, delay_after=seconds)
        self.faults.append(rule)
        return rule

    async def dispatch(self, event: str, data: Any) -> int:
        """Send a raw gateway DISPATCH to every session; returns how many sessions got it."""
        count = await self.gateway.dispatch(event, data)
        await self.notify()
        return count

    async def close_gateway(self, code: int = 4000) -> None:
        """Close every gateway socket with ``code`` (4000 -> discord.py reconnects and RESUMEs)."""
        await self.gateway.close_all(code)

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION (``resumable=False``: the bot must IDENTIFY again)."""
        await self.gateway.invalidate(resumable)

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT."""
        await self.gateway.send_op(7, None)

    async def say(self, user: Actor, channel: FakeChannel, content: str) -> FakeMessage:
        """A person posts a message in ``channel`` (dispatched as MESSAGE_CREATE)."""
        person = user.user if isinstance(user, FakeMember) else user
        msg = self.transcript.create(channel, person, {"content": content}, [])
        await self.transcript.announce("MESSAGE_CREATE", msg)
        return msg

    async def settle(self) -> None:
        """Wait until background dispatches (from builders and controls) were sent."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ------------------------------------------------------------------ client simulator

    async def slash(
        self,
        user: Actor,
        channel: FakeChannel,
        command: str,
        /,
        *path: str,
        validate: bool = True,
        attachments: Any = None,
        options: Mapping[str, Any] | None = None,
        locale: str | None = None,
        **values: Any,
    ) -> InteractionHandle:
        """A user runs a slash command; see the module docstring for values and refusals."""
        merged = dict(options or {})
        merged.update(values)
        if isinstance(attachments, Mapping):
            merged.update(attachments)
        elif attachments is not None:
            merged["attachments"] = attachments
        return await self.simulator.slash(user, channel, command, path, merged, validate=validate, locale=locale)

    async def autocomplete(
        self,
        user: Actor,
        channel: FakeChannel,
        command: str,
        /,
        *path: str,
        focused: str,
        validate: bool = True,
        options: Mapping[str, Any] | None = None,
        **values: Any,
    ) -> InteractionHandle:
        """A user types into option ``focused`` (value: the partial text) of a command with autocomplete."""
        merged = dict(options or {})
        merged.update(values)
        merged.setdefault(focused, "")
        return await self.simulator.slash(user, channel, command, path, merged, validate=validate, focused=focused)

    async def context_menu(
        self,
        user: Actor,
        channel: FakeChannel,
        name: str,
        target: FakeUser | FakeMember | FakeMessage,
        *,
        validate: bool = True,
    ) -> InteractionHandle:
        """A user runs a user or message context-menu command."""
        return await self.simulator.context_menu(user, channel, name, target, validate=validate)

    async def click(
        self, user: Actor, message: FakeMessage | int, custom_id: str | None, *, validate: bool = True
    ) -> InteractionHandle:
        """A user clicks a button of a bot message (``custom_id`` as read from ``message.button(...)``)."""
        if custom_id is None:
            raise ClientRefusal("a link button has no custom_id: the app opens its URL, with no interaction")
        return await self.simulator.click(user, message, custom_id, validate=validate)

    async def select(
        self, user: Actor, message: FakeMessage | int, custom_id: str, values: Iterable[Any], *, validate: bool = True
    ) -> InteractionHandle:
        """A user picks values in a select menu of a bot message."""
        return await self.simulator.select(user, message, custom_id, list(values), validate=validate)

    async def submit_modal(
        self, user: Actor, source: InteractionHandle, values: Mapping[str, Any], *, validate: bool = True
    ) -> InteractionHandle:
        """A user submits the modal the bot opened for ``source``."""
        return await self.simulator.submit_modal(user, source, values, validate=validate)

    def visible_commands(self, user: Actor, channel: FakeChannel) -> list[str]:
        """Slash commands the user's command picker lists in ``channel``."""
        return self.simulator.visible_commands(user, channel)

    # ------------------------------------------------------------------ transcript

    def messages(
        self, channel: FakeChannel, *, as_user: Actor | None = None, include_deleted: bool = False
    ) -> list[FakeMessage]:
        """Messages in ``channel``, oldest first; ``as_user`` shows only what that user can see."""
        return self.transcript.in_channel(
            channel.id, as_user=as_user.id if as_user else None, include_deleted=include_deleted
        )

    def message(self, message_id: int) -> FakeMessage:
        """A message by id (deleted ones too)."""
        try:
            return self.transcript.messages[int(message_id)]
        except KeyError:
            raise KeyError(f"no message {message_id}") from None

    def last_message(self, channel: FakeChannel, *, as_user: Actor | None = None) -> FakeMessage | None:
        """The newest visible message in ``channel``, or None."""
        found = self.messages(channel, as_user=as_user)
        return found[-1] if found else None

    def transcript_text(self, channel: FakeChannel) -> str:
        """Human-readable transcript of a channel."""
        return "\n".join(m.summary() for m in self.messages(channel, include_deleted=True)) or "(no messages)"

    def pop_violations(self, *kinds: str) -> list[Violation]:
        """Remove and return the violations of these kinds (all if none given)."""
        taken = [v for v in self.violations if not kinds or v.kind in kinds]
        self.violations = [v for v in self.violations if v not in taken]
        return taken

    # ------------------------------------------------------------------ waiting

    def debug_summary(self) -> str:
        """Recent requests, messages and problems, for failure messages."""
        lines = ["recent requests:"] + [f"  {r}" for r in self.requests[-12:]]
        lines.append("messages:")
        for msg in sorted(self.transcript.messages.values(), key=lambda m: m.id)[-12:]:
            lines.append(f"  in {msg.channel_id}: {msg.summary()}")
        lines.append(f"violations: {[str(v) for v in self.violations]}")
        lines.append(f"unexpected routes: {self.unexpected_routes}")
        return "\n".join(lines)

    async def wait_for(
        self, predicate: Callable[[FakeDiscord], T | None], timeout: float = 10.0, *, what: str | None = None
    ) -> T:
        """Wait until ``predicate(fake)`` is truthy and return its value (no polling)."""
        result: Any = None

        def check() -> bool:
            nonlocal result
            result = predicate(self)
            return bool(result)

        async with self._cond:
            try:
                await asyncio.wait_for(self._cond.wait_for(check), timeout)
            except TimeoutError:
                raise WaitTimeout(
                    f"timed out after {timeout}s waiting for {what or predicate}\n{self.debug_summary()}"
                ) from None
        return cast(T, result)

    async def wait_for_message(
        self,
        channel: FakeChannel,
        predicate: Callable[[FakeMessage], bool] | None = None,
        *,
        timeout: float = 10.0,
        as_user: Actor | None = None,
        after: FakeMessage | int | None = None,
        include_loading: bool = False,
    ) -> FakeMessage:
        """The first message in ``channel`` (newer than ``after``) matching ``predicate``; not "thinking..." ones."""
        floor = after.id if isinstance(after, FakeMessage) else int(after or 0)

        def find(fake: FakeDiscord) -> FakeMessage | None:
            for msg in fake.messages(channel, as_user=as_user):
                if msg.id > floor and (include_loading or not msg.loading) and (predicate is None or predicate(msg)):
                    return msg
            return None

        return await self.wait_for(find, timeout, what=f"a message in channel {channel.name or channel.id}")

    async def wait_for_request(
        self, predicate: Callable[[RequestRecord], bool], *, timeout: float = 10.0, completed: bool = True
    ) -> RequestRecord:
        """The first logged request matching ``predicate`` (answered ones only unless ``completed=False``)."""

        def find(fake: FakeDiscord) -> RequestRecord | None:
            for record in fake.requests:
                if (record.status is not None or not completed) and predicate(record):
                    return record
            return None

        return await self.wait_for(find, timeout, what="a matching request")

    async def wait_for_identify(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until the gateway has seen ``count`` IDENTIFYs in total."""
        await self.wait_for(lambda f: f.gateway.identify_count >= count, timeout, what=f"IDENTIFY #{count}")

    async def wait_for_resume(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until the gateway has accepted ``count`` RESUMEs in total."""
        await self.wait_for(lambda f: f.gateway.resume_count >= count, timeout, what=f"RESUME #{count}")
