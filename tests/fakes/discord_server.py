"""FakeDiscord: an offline Discord (REST API v10 + gateway) for end-to-end tests of a discord.py bot.

One aiohttp server on 127.0.0.1 serves the REST API under ``/api/v10``, the gateway WebSocket at
``/`` (text JSON frames) and uploaded files under ``/att/``. The real, unpatched discord.py talks
to it once ``discord.http.Route.BASE`` and ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``
point here (``tests.fakes.discord_harness.run_bot`` does that, or the bot's own settings). A client
simulator plays the Discord app: it builds interactions from the commands the bot actually
synced. Everything a user would see lands in a per-channel transcript, so tests assert on what
users see, with the raw request log available for protocol-level checks.

Quick start::

    from tests.fakes.discord_harness import assert_clean, run_bot
    from tests.fakes.discord_server import FakeDiscord, Upload

    async def test_imagine() -> None:
        async with FakeDiscord() as fake:                    # start()/stop()
            guild = fake.add_guild("Eggs")
            general = fake.add_channel(guild, "general")
            alice = fake.add_member(guild, "alice")
            async with run_bot(make_bot(), fake):            # patches both URLs, waits for on_ready
                await fake.wait_for(lambda f: f.sync_count >= 1)   # setup_hook synced its commands
                handle = await fake.slash(alice, general, "imagine", prompt="a cat", count=2,
                                          attachments={"reference": ("ref.png", b"...", "image/png")})
                ack = await handle.wait_ack()                 # CallbackRecord(type=4 or 5, flags, latency)
                status = await handle.wait_response()         # the message alice sees as the answer
                result = await fake.wait_for_message(general, lambda m: bool(m.attachments), after=status)
                assert result.attachments[0].data == expected_png_bytes
                click = await fake.click(alice, result, result.button("Reroll").custom_id)
                await click.wait_ack()
            assert_clean(fake)                                # no unimplemented route, no broken rule

Construction (keyword-only)::

    FakeDiscord(token="fake-token", bot_name="EggBot", ack_deadline=3.0, token_ttl=900.0,
                nonce_window=300.0, rate_limit=False, rate_limit_per=(5, 5.0),
                allowed_intents=Intents.PRIVILEGED, dm_filesize_limit=10 MiB,
                bot_permissions=DEFAULT_BOT_PERMISSIONS, attachment_ttl=86400.0, host="127.0.0.1", port=0)
    await fake.start() / await fake.stop()  or  async with FakeDiscord(...) as fake: ...
    fake.url -> "http://127.0.0.1:PORT";  fake.api_base -> url + "/api/v10";  fake.ws_url -> "ws://127.0.0.1:PORT/"

``ack_deadline``, ``token_ttl``, ``nonce_window`` and ``allowed_intents`` are plain attributes that
may be changed at any time (``fake.ack_deadline = 0.2``). ``allowed_intents`` lists the privileged
intents the application may use; IDENTIFY with any other privileged intent is closed with 4014
(discord.py raises ``PrivilegedIntentsRequired``).

Attachment URLs are signed like Discord's CDN links: every payload that carries an attachment
(message objects, a slash command's resolved attachments) has ``?ex=<hex expiry>&is=<hex issue
time>&hm=<hex signature>``, valid for ``fake.cdn.ttl`` seconds (``attachment_ttl``, default 24 h)
from the moment the payload was made. ``GET /att/...`` answers 404 for an unsigned, tampered or
expired URL. Expiry follows ``fake.clock`` (Unix seconds; real time plus an offset), which tests
move instead of sleeping::

    fake.clock.now() -> float;  fake.clock.advance(seconds);  fake.clock.set(unix_time)
    # Snowflakes, message timestamps and interaction deadlines stay on real time.

World (ids are snowflakes from a monotonic counter whose timestamp part is the current time, so
``created_at`` is sane; JSON carries them as strings, the Python objects as ints)::

    fake.bot_user: FakeUser;  fake.application_id: int (== bot user id);  fake.owner: FakeUser (app owner)
    fake.add_user(username, *, global_name=None, bot=False, locale="en-US", upload_limit=None) -> FakeUser
        # upload_limit: the user's Nitro upload limit; their interactions' attachment_size_limit is the
        # larger of it and the channel's, as on Discord. Bot-token posts only get the guild's limit.
    fake.add_guild(name, *, premium_tier=0, filesize_limit=None, owner=None, locale="en-US") -> FakeGuild
        # @everyone role id == guild id (Discord's default permissions); the bot joins with a managed
        # role holding bot_permissions; the owner (default fake.owner) joins too and has every
        # permission. filesize_limit defaults to the premium tier's (10/10/50/100 MiB). It is
        # enforced on uploads (413/40005 on bot posts above it) and sent as attachment_size_limit
        # (or the user's Nitro limit, if larger); discord.py's Guild.filesize_limit only derives
        # from premium_tier.
    fake.add_channel(guild, name, type=0, *, topic=None, nsfw=False, parent=None) -> FakeChannel
    fake.add_thread(parent_channel, name, *, private=False, owner=None) -> FakeChannel   # type 11 (12)
    fake.add_role(guild, name, permissions=0, *, color=0, mentionable=False, hoist=False) -> FakeRole
    fake.add_member(guild, user_or_username, *, roles=(), permissions=None, nick=None) -> FakeMember
        # roles: FakeRole objects or role names. permissions (an int, a name like "MANAGE_GUILD", a
        # discord.Permissions, or a list of those) creates a personal role "<name>-perms".
    fake.remove_member(guild, user)   # they leave: GUILD_MEMBER_REMOVE (GUILD_MEMBERS intent only), then
        # GET /guilds/{id}/members/{id} answers 404/10007 "Unknown Member"
    fake.dm_channel_for(user) -> FakeChannel   # type 1; the same channel the bot gets from POST /users/@me/channels
    fake.users / fake.guilds / fake.channels: dicts by id;  guild.member(user) -> FakeMember | None
    PERMISSIONS["SEND_MESSAGES"] etc.: permission bits.  Intents.GUILD_MEMBERS etc.: intent bits.

FakeMember.id / .username / .mention forward to .user; every "user" parameter accepts a FakeMember
or a FakeUser. GUILD_CREATE (after READY) carries channels, threads, roles and members; like
Discord it lists the other members only when the bot identified with the GUILD_MEMBERS intent (the
bot's own member always). Op 8 gets one GUILD_MEMBERS_CHUNK. Builders called while the bot is
connected also dispatch CHANNEL_CREATE / THREAD_CREATE / GUILD_ROLE_CREATE / GUILD_MEMBER_ADD /
GUILD_CREATE in the background (``await fake.settle()`` waits until they are sent).

Permissions, failures and gateway control::

    fake.deny_bot(channel, "SEND_MESSAGES", "ATTACH_FILES")    # bot member overwrite + CHANNEL_UPDATE
        # Bot POST /channels/{id}/messages then gets 403 {"code": 50013, "message": "Missing Permissions"}:
        # SEND_MESSAGES (SEND_MESSAGES_IN_THREADS in threads) always, ATTACH_FILES with files,
        # EMBED_LINKS with embeds; without VIEW_CHANNEL every channel route gets 403/50001
        # "Missing Access". Interactions carry the matching app_permissions. Interaction replies
        # are not affected (as on Discord).
    fake.set_permissions(channel, target, *, allow=None, deny=None)   # target: role, member, user or
        # "everyone"; both None removes the overwrite. Member permissions follow Discord's algorithm.
    fake.delete_channel(channel)   # CHANNEL_DELETE / THREAD_DELETE; its routes -> 404/10003 "Unknown Channel"
    fake.block_dms(user, blocked=True)   # bot messages in their DM -> 403/50007 "Cannot send messages to this user"
    fake.enable_rate_limit(limit=5, per=5.0) / fake.disable_rate_limit() / fake.exhaust_rate_limit(channel)
        # Per-channel bucket on POST /channels/{id}/messages, sent with X-RateLimit-* headers. When it
        # is spent: 429 {"message": "You are being rate limited.", "retry_after": x, "global": false}
        # with Via: 1.1 google, Retry-After and X-RateLimit-Scope: user; discord.py sleeps and retries.
        # discord.py honours the headers and waits pre-emptively, so to see a 429 call
        # exhaust_rate_limit() (other traffic used the bucket) first.
    fake.fail_next(method, path_regex, status, json_body=None, times=1, headers=None) -> FaultRule
        # The next `times` matching requests get this reply (content type exactly application/json).
        # method "*" matches any; path_regex is re.search'ed on the path below /api/v10, e.g.
        # r"^/channels/\\d+/messages$", or on "/att/..." for downloads. A 429 without explicit
        # headers gets "Via: 1.1 google" so discord.py retries it. discord.py retries 500/502/504
        # after sleeping 1 + 2*tries s: avoid 5xx in fast tests.
    fake.answer_late(method, path_regex, seconds, times=1) -> FaultRule  # handle now, answer after
        # seconds (a crash meanwhile loses only the answer: the crash-after-posting case)
    fake.delay_next(method, path_regex, seconds, times=1) -> FaultRule   # answer late; the ack
        # deadline still uses the arrival time, as on Discord. FaultRule.hits counts uses.
    await fake.dispatch(event, data) -> int       # raw gateway DISPATCH to every session
    await fake.close_gateway(code=4000)           # drop the socket: discord.py RESUMEs and missed events replay
    await fake.invalidate_session(resumable=False)   # op 9; with False the bot IDENTIFYs again
    await fake.send_reconnect()                   # op 7
    await fake.say(user, channel, content) -> FakeMessage   # a person posts: MESSAGE_CREATE, content
        # blanked (as Discord does) unless the bot has MESSAGE_CONTENT, is mentioned, or it is a DM

Client simulator. It raises ``ClientRefusal`` (an AssertionError) where the Discord app would not
let the user do it; ``validate=False`` skips those checks (a modified client, to test the bot's
own validation)::

    await fake.slash(user, channel, "imagine", prompt="x", count=2,
                     attachments={"reference": ("a.png", b"...", "image/png")}) -> InteractionHandle
    await fake.slash(user, channel, "quota set", member=bob, limit=5)      # subcommand (group) path ...
    await fake.slash(user, channel, "quota", "set", member=bob, limit=5)   # ... or as extra positionals
        # user, channel and command are positional-only, so options may be named "user" or
        # "channel"; options named validate/attachments/options/locale go in options={...}.
        # Values: str, int, float, bool; FakeUser/FakeMember (user, mentionable), FakeRole,
        # FakeChannel; Upload(filename, data, content_type=None) or a (filename, data[, content_type])
        # tuple for attachment options, given directly or via attachments={...}. "resolved" data
        # (users, members with permissions, roles, channels, attachments served from /att/) is
        # filled in. The command is looked up among the synced commands of the channel's guild,
        # then the global ones. Refused: unknown command / subcommand / option, missing required
        # option, wrong type, outside min/max_value or min/max_length (strings default 0..6000),
        # not among choices, channel type not in channel_types, file over the upload limit,
        # channel the user cannot see, member without default_member_permissions (owner and
        # ADMINISTRATOR always pass), no USE_APPLICATION_COMMANDS, nsfw command outside an nsfw
        # channel, and in DMs any guild command or a global one whose contexts lack 1 (or with
        # dm_permission false when contexts is null).
    await fake.autocomplete(user, channel, "cmd", focused="opt", opt="partial", other=1) -> handle (type 4)
    await fake.context_menu(user, channel, "Report", target_user_member_or_message) -> handle
    await fake.click(user, message_or_id, custom_id) -> handle   # type 3 carrying the full message
        # refused: message deleted / not visible to the user / not from the bot, no such button, disabled
    await fake.select(user, message_or_id, custom_id, ["a", "b"]) -> handle   # values must be options
    await fake.submit_modal(user, handle_answered_with_a_modal, {"input_custom_id": "text"}) -> handle
        # refused: no modal, already submitted, another user, unknown input, required/length rules
    fake.visible_commands(user, channel) -> list[str]   # what the user's command picker lists

    InteractionHandle: .id .token .type (2 command, 3 component, 4 autocomplete, 5 modal submit)
        .user .member (None in DMs) .channel .guild .payload (the INTERACTION_CREATE d)
        .callback (CallbackRecord | None) .acked .ack_latency (s from dispatch to the callback's
        arrival) .callback_type .callback_flags .response (the FakeMessage the user sees as the
        answer; for callbacks 6/7 the clicked message) .followups .choices (autocomplete) .modal
        .timed_out
        await .wait_ack(timeout=5) -> CallbackRecord(.type, .data, .flags, .ephemeral, .latency)
        await .wait_response(timeout=10, final=True) -> FakeMessage   # final: no longer "thinking..."
        await .wait_followup(index=0, timeout=10) -> FakeMessage
        .expire()   # the token is now invalid, as after 15 minutes

Discord rules enforced; each refusal is appended to ``fake.violations`` as ``Violation(kind, message,
request, interaction_id)``. ``assert_clean(fake)`` fails on any; ``fake.pop_violations(*kinds)``
removes and returns the ones a test expects (all if no kinds)::

    kind                  reply                              when
    ack_timeout           (timer; user sees "did not respond")  no callback within ack_deadline of dispatch
    unknown_interaction   404 {"code": 10062}                callback after the deadline, or unknown id/token
    double_ack            400 {"code": 40060}                a second initial callback
    unknown_webhook       404 {"code": 10015}                followup or @original before the callback
    token_expired         401 {"code": 50027}                webhook call after token_ttl or .expire()
    invalid_webhook_token 401 {"code": 50027}                webhook token of no interaction
    invalid_form_body     400 {"code": 50035, "errors": {...}}   command sync: name not matching
                          Discord's regex or not lower case, 1-32 chars; descriptions 1-100; <=25
                          options / choices; required options after optional ones; min/max_length
                          outside 0..6000; bad int/number ranges; bad nesting; duplicate names.
                          Messages: content >2000, >10 embeds, embed title >256, description
                          >4096, >25 fields, total >6000, >10 attachments, >5 action rows, >5
                          items per row, custom_id >100, button label >80, duplicate custom_id,
                          a callback type not allowed for the interaction type; allowed_mentions
                          with duplicate ids or types, >100 users/roles, or parse naming a type
                          that is also listed
    entity_too_large      413 {"code": 40005}                a file over the guild/interaction limit
    empty_message         400 {"code": 50006}                no content, embed, file or component
    internal_error        400 {"code": 0}                    the fake itself failed (traceback in the message)
World answers are not violations: 50013, 50001, 10003, 10008, 10013, 50005, 50007, 401 for a
bad bot token, and 429.

Interaction behaviour: callback 4 posts a message (with flags 64 ephemeral: ``visible_to`` is the
user); 5 posts a "thinking..." placeholder (flags 128, ``loading``) that the first @original PATCH
or, as on Discord, the first followup fills in (keeping the deferral's ephemerality; this does
not count as an edit); 6 changes nothing visible; 7 edits the clicked message; 8 stores
``handle.choices``; 9 stores ``handle.modal``. The reply is Discord's InteractionCallback JSON
(``with_response=1``, as discord.py >= 2.5 sends it; 204 without). Non-ephemeral messages are also
sent to the bot as MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_DELETE. Channel sends honour
``nonce`` + ``enforce_nonce``: a repeat within ``nonce_window`` seconds returns the first message
and creates nothing. ``message_reference`` makes a reply (type 19), or 400/50035 for an unknown
message unless ``fail_if_not_exists`` is false.

Transcript. FakeMessage: .id .channel_id .guild_id .author (FakeUser) .content .embeds (dicts)
.components (raw) .buttons -> [Button(label, custom_id, style, url, disabled, emoji)] .selects ->
[Select(type, custom_id, options, min_values, max_values, placeholder, disabled)] .attachments ->
[StoredAttachment(id, filename, content_type (sniffed from the name, like Discord), size, data,
url)] .flags .ephemeral .loading .visible_to .mentions / .mention_roles / .mention_everyone (who is
pinged after allowed_mentions) .allowed_mentions (as sent) .nonce .type (0, 19 reply, 20 slash
reply, 23 context menu) .edits .history [MessageSnapshot] .deleted .interaction_id;
.button(label_or_custom_id) .attachment(filename) .visible_for(user_id) .summary()::

    fake.messages(channel, *, as_user=None, include_deleted=False) -> list[FakeMessage]
        # oldest first; not deleted; everybody's ephemeral messages unless as_user is given
    fake.last_message(channel, *, as_user=None) -> FakeMessage | None;  fake.message(id) -> FakeMessage
    fake.transcript_text(channel) -> str   # one line per message, for debugging

Waiting: event-driven on one asyncio.Condition that every request, message change, callback and
gateway event notifies (no polling). A timeout raises ``WaitTimeout`` (an AssertionError listing
recent requests, messages and violations)::

    await fake.wait_for(lambda f: <value or None>, timeout=10) -> the first truthy value
    await fake.wait_for_message(channel, predicate=None, *, timeout=10, as_user=None, after=None,
                                include_loading=False) -> FakeMessage   # after: a message or id
    await fake.wait_for_request(predicate, *, timeout=10, completed=True) -> RequestRecord
    await fake.wait_for_identify(count=1, timeout=10);  await fake.wait_for_resume(count=1, timeout=10)
    await fake.settle()   # background dispatches from builders/controls have been sent

Records: ``fake.requests`` [RequestRecord: method, path (below /api/v10; "/att/..." for
downloads), query, headers, json (the parsed body or payload_json), parts / files (FilePart:
name, filename, content_type, data), timestamp (loop time), status, response, route, injected];
``fake.unexpected_routes`` ["METHOD /path": not implemented here, answered 404]; ``fake.violations``;
``fake.sync_count`` and ``fake.sync_log`` [(guild_id or None, body)] count successful bulk
overwrites; ``fake.global_commands`` / ``fake.guild_commands[guild_id]`` hold the commands as
Discord returned them (with ids); ``fake.interactions`` {id: InteractionHandle};
``fake.gateway.identify_count`` / ``.resume_count`` / ``.received`` (frames from the bot) /
``.presence_updates`` / ``.sessions``.

REST routes: GET /users/@me; GET /users/{id}; GET /oauth2/applications/@me; GET|PUT
/applications/{app}/commands and /applications/{app}/guilds/{guild}/commands; POST
/interactions/{id}/{token}/callback (JSON or multipart); GET|PATCH|DELETE
/webhooks/{app}/{token}/messages/@original and .../messages/{id}; POST /webhooks/{app}/{token};
GET /guilds/{id}/members/{id} (404/10007 "Unknown Member" for someone not or no longer in the guild);
GET /channels/{id}; POST /channels/{id}/messages (JSON or multipart payload_json + files[n]);
GET /channels/{id}/messages (newest first; limit, before, after; no nonce); GET|PATCH|DELETE
/channels/{id}/messages/{id}; POST /channels/{id}/typing; POST /users/@me/channels; and
GET /att/{id}/{filename}?ex&is&hm for uploaded bytes. Bot routes need
``Authorization: Bot <token>`` (else 401); interaction routes need none, as on Discord.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast

from aiohttp import web

from .discord_cdn import DEFAULT_ATTACHMENT_TTL, Cdn, FakeClock
from .discord_client import ClientRefusal, ClientSimulator, Upload
from .discord_gateway import Gateway
from .discord_interaction import CallbackRecord, InteractionHandle
from .discord_models import (
    ALL_PERMISSIONS,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DEFAULT_FILESIZE_LIMIT,
    MIB,
    PERMISSIONS,
    PREMIUM_TIER_FILESIZE,
    ChannelType,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Intents,
    MessageFlags,
    Overwrite,
    PermissionsLike,
    SnowflakeFactory,
    resolve_permissions,
)
from .discord_records import Button, FakeMessage, FaultRule, RequestRecord, Select, StoredAttachment, Violation
from .discord_rest import RestApi
from .discord_transcript import Transcript

__all__ = [
    "ALL_PERMISSIONS", "DEFAULT_BOT_PERMISSIONS", "DEFAULT_EVERYONE_PERMISSIONS", "PERMISSIONS", "Button",
    "CallbackRecord", "ChannelType", "ClientRefusal", "FakeChannel", "FakeDiscord", "FakeGuild", "FakeMember",
    "FakeMessage", "FakeRole", "FakeUser", "FaultRule", "Intents", "InteractionHandle", "MessageFlags",
    "RequestRecord", "Select", "StoredAttachment", "Upload", "Violation", "WaitTimeout",
]

T = TypeVar("T")
Actor = FakeUser | FakeMember


class WaitTimeout(AssertionError):
    """A ``wait_for*`` helper timed out; the message summarises what the fake saw."""


class FakeDiscord:
    """Offline Discord: REST + gateway + client simulator + transcript. See the module docstring."""

    def __init__(self, *, token: str = "fake-token", bot_name: str = "EggBot", ack_deadline: float = 3.0,
                 token_ttl: float = 900.0, nonce_window: float = 300.0, rate_limit: bool = False,
                 rate_limit_per: tuple[int, float] = (5, 5.0), allowed_intents: int = Intents.PRIVILEGED,
                 dm_filesize_limit: int = DEFAULT_FILESIZE_LIMIT,
                 bot_permissions: PermissionsLike = DEFAULT_BOT_PERMISSIONS,
                 attachment_ttl: float = DEFAULT_ATTACHMENT_TTL,
                 host: str = "127.0.0.1", port: int = 0) -> None:
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

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
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

    def add_user(self, username: str, *, global_name: str | None = None, bot: bool = False,
                 locale: str = "en-US", upload_limit: int | None = None) -> FakeUser:
        """Create a user (not in any guild yet); ``upload_limit`` is their Nitro upload limit, if any."""
        user = FakeUser(self.new_id(), username, global_name=global_name, bot=bot, locale=locale,
                        upload_limit=upload_limit)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, *, premium_tier: int = 0, filesize_limit: int | None = None,
                  owner: FakeUser | None = None, locale: str = "en-US") -> FakeGuild:
        """Create a guild with @everyone, the bot (with its managed role) and the owner as members."""
        owner = owner or self.owner
        limit = filesize_limit or PREMIUM_TIER_FILESIZE.get(premium_tier, DEFAULT_FILESIZE_LIMIT)
        guild = FakeGuild(self.new_id(), name, owner.id, filesize_limit=limit, premium_tier=premium_tier,
                          locale=locale)
        guild.roles[guild.id] = FakeRole(guild.id, guild.id, "@everyone", DEFAULT_EVERYONE_PERMISSIONS)
        self.guilds[guild.id] = guild
        bot_role = FakeRole(self.new_id(), guild.id, self.bot_user.username, self.bot_permissions, position=1,
                            managed_by_bot=self.bot_user.id)
        guild.roles[bot_role.id] = bot_role
        guild.members[self.bot_user.id] = FakeMember(self.bot_user, guild, [bot_role])
        guild.members[owner.id] = FakeMember(owner, guild)
        if self.gateway.sessions:
            for session in list(self.gateway.sessions.values()):
                self.spawn(self.gateway._dispatch_to(session, "GUILD_CREATE",
                                                     self.gateway.guild_create(guild, session.intents)))
        return guild

    def add_channel(self, guild: FakeGuild, name: str, type: int = ChannelType.GUILD_TEXT, *,
                    topic: str | None = None, nsfw: bool = False, parent: FakeChannel | None = None) -> FakeChannel:
        """Create a guild channel (text by default; ``parent`` is a category)."""
        channel = FakeChannel(self.new_id(), type, name, guild=guild, parent=parent, topic=topic, nsfw=nsfw,
                              position=sum(1 for c in guild.channels.values() if not c.is_thread))
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self._announce("CHANNEL_CREATE", channel.to_json())
        return channel

    def add_thread(self, parent: FakeChannel, name: str, *, private: bool = False,
                   owner: Actor | None = None) -> FakeChannel:
        """Create a thread (type 11, or 12 if private) under a text channel."""
        assert parent.guild is not None, "threads live in guild channels"
        owner_user = owner.user if isinstance(owner, FakeMember) else owner
        thread = FakeChannel(self.new_id(), ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD,
                             name, guild=parent.guild, parent=parent,
                             owner_id=(owner_user or self.bot_user).id)
        parent.guild.channels[thread.id] = thread
        self.channels[thread.id] = thread
        self._announce("THREAD_CREATE", dict(thread.to_json(bot_user=self.bot_user), newly_created=True))
        return thread

    def add_role(self, guild: FakeGuild, name: str, permissions: PermissionsLike = 0, *, color: int = 0,
                 mentionable: bool = False, hoist: bool = False) -> FakeRole:
        """Create a role."""
        role = FakeRole(self.new_id(), guild.id, name, resolve_permissions(permissions), position=len(guild.roles),
                        color=color, mentionable=mentionable, hoist=hoist)
        guild.roles[role.id] = role
        self._announce("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.to_json()})
        return role

    def add_member(self, guild: FakeGuild, user: str | FakeUser, *, roles: Iterable[FakeRole | str] = (),
                   permissions: PermissionsLike | None = None, nick: str | None = None) -> FakeMember:
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
        self._announce("GUILD_MEMBER_REMOVE", {"guild_id": str(guild.id), "user": member.user.to_json()},
                       Intents.GUILD_MEMBERS)

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

    def set_permissions(self, channel: FakeChannel, target: FakeRole | FakeMember | FakeUser | str, *,
                        allow: PermissionsLike | None = None, deny: PermissionsLike | None = None) -> None:
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
            channel.overwrites[target_id] = Overwrite(target_id, kind, resolve_permissions(allow or 0),
                                                      resolve_permissions(deny or 0))
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
                self._announce("THREAD_DELETE", {"id": str(item.id), "guild_id": str(item.guild.id),
                                                 "parent_id": str(item.parent.id), "type": item.type})
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

    def fail_next(self, method: str, path_regex: str, status: int, json_body: Any = None, times: int = 1,
                  headers: Mapping[str, str] | None = None) -> FaultRule:
        """Answer the next ``times`` matching requests with ``status`` and ``json_body``."""
        if headers is None and status == 429:
            headers = {"Via": "1.1 google", "Retry-After": "1", "X-RateLimit-Scope": "user"}
        rule = FaultRule(method.upper(), re.compile(path_regex), times, status=status, body=json_body,
                         headers=dict(headers or {}))
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

    async def slash(self, user: Actor, channel: FakeChannel, command: str, /, *path: str, validate: bool = True,
                    attachments: Any = None, options: Mapping[str, Any] | None = None,
                    locale: str | None = None, **values: Any) -> InteractionHandle:
        """A user runs a slash command; see the module docstring for values and refusals."""
        merged = dict(options or {})
        merged.update(values)
        if isinstance(attachments, Mapping):
            merged.update(attachments)
        elif attachments is not None:
            merged["attachments"] = attachments
        return await self.simulator.slash(user, channel, command, path, merged, validate=validate, locale=locale)

    async def autocomplete(self, user: Actor, channel: FakeChannel, command: str, /, *path: str, focused: str,
                           validate: bool = True, options: Mapping[str, Any] | None = None,
                           **values: Any) -> InteractionHandle:
        """A user types into option ``focused`` (value: the partial text) of a command with autocomplete."""
        merged = dict(options or {})
        merged.update(values)
        merged.setdefault(focused, "")
        return await self.simulator.slash(user, channel, command, path, merged, validate=validate, focused=focused)

    async def context_menu(self, user: Actor, channel: FakeChannel, name: str,
                           target: FakeUser | FakeMember | FakeMessage, *, validate: bool = True) -> InteractionHandle:
        """A user runs a user or message context-menu command."""
        return await self.simulator.context_menu(user, channel, name, target, validate=validate)

    async def click(self, user: Actor, message: FakeMessage | int, custom_id: str, *,
                    validate: bool = True) -> InteractionHandle:
        """A user clicks a button of a bot message."""
        return await self.simulator.click(user, message, custom_id, validate=validate)

    async def select(self, user: Actor, message: FakeMessage | int, custom_id: str, values: Iterable[Any], *,
                     validate: bool = True) -> InteractionHandle:
        """A user picks values in a select menu of a bot message."""
        return await self.simulator.select(user, message, custom_id, list(values), validate=validate)

    async def submit_modal(self, user: Actor, source: InteractionHandle, values: Mapping[str, Any], *,
                           validate: bool = True) -> InteractionHandle:
        """A user submits the modal the bot opened for ``source``."""
        return await self.simulator.submit_modal(user, source, values, validate=validate)

    def visible_commands(self, user: Actor, channel: FakeChannel) -> list[str]:
        """Slash commands the user's command picker lists in ``channel``."""
        return self.simulator.visible_commands(user, channel)

    # ------------------------------------------------------------------ transcript

    def messages(self, channel: FakeChannel, *, as_user: Actor | None = None,
                 include_deleted: bool = False) -> list[FakeMessage]:
        """Messages in ``channel``, oldest first; ``as_user`` shows only what that user can see."""
        return self.transcript.in_channel(channel.id, as_user=as_user.id if as_user else None,
                                          include_deleted=include_deleted)

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

    async def wait_for(self, predicate: Callable[[FakeDiscord], T | None], timeout: float = 10.0, *,
                       what: str | None = None) -> T:
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
                raise WaitTimeout(f"timed out after {timeout}s waiting for {what or predicate}\n"
                                  f"{self.debug_summary()}") from None
        return cast(T, result)

    async def wait_for_message(self, channel: FakeChannel, predicate: Callable[[FakeMessage], bool] | None = None,
                               *, timeout: float = 10.0, as_user: Actor | None = None,
                               after: FakeMessage | int | None = None,
                               include_loading: bool = False) -> FakeMessage:
        """The first message in ``channel`` (newer than ``after``) matching ``predicate``; not "thinking..." ones."""
        floor = after.id if isinstance(after, FakeMessage) else int(after or 0)

        def find(fake: FakeDiscord) -> FakeMessage | None:
            for msg in fake.messages(channel, as_user=as_user):
                if msg.id > floor and (include_loading or not msg.loading) and (predicate is None or predicate(msg)):
                    return msg
            return None
        return await self.wait_for(find, timeout, what=f"a message in channel {channel.name or channel.id}")

    async def wait_for_request(self, predicate: Callable[[RequestRecord], bool], *, timeout: float = 10.0,
                               completed: bool = True) -> RequestRecord:
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
