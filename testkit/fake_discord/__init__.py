"""FakeDiscord: an offline Discord (REST API v10 + gateway) for end-to-end tests of a discord.py bot.

One aiohttp server on 127.0.0.1 serves the REST API under ``/api/v10``, the gateway WebSocket at
``/`` (text JSON frames) and uploaded files under ``/att/``. The real, unpatched discord.py talks
to it once ``discord.http.Route.BASE`` and ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``
point here (``testkit.fake_discord.run_bot`` does that, or the bot's own settings). A client
simulator plays the Discord app: it builds interactions from the commands the bot actually
synced. Everything a user would see lands in a per-channel transcript, so tests assert on what
users see, with the raw request log available for protocol-level checks.

Quick start::

    from testkit.fake_discord import FakeDiscord, Upload, assert_clean, run_bot

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
    fake.add_guild(name, *, premium_tier=0, filesize_limit=None, owner=None, locale="en-US", shard=None) -> FakeGuild
        # @everyone role id == guild id (Discord's default permissions); the bot joins with a managed
        # role holding bot_permissions; the owner (default fake.owner) joins too and has every
        # permission. filesize_limit defaults to the premium tier's (10/10/50/100 MiB). It is
        # enforced on uploads (413/40005 on bot posts above it) and sent as attachment_size_limit
        # (or the user's Nitro limit, if larger); discord.py's Guild.filesize_limit only derives
        # from premium_tier. shard=(id, n): an id Discord's formula routes to shard id of n.
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

Sharding (``sharding.py``): IDENTIFY's ``shard: [id, n]`` scopes a session to the guilds
``(guild_id >> 22) % n == id`` (READY, GUILD_CREATE and every guild event; DMs go to shard 0 only);
an invalid shard closes 4010, more than 2,500 guilds on one shard 4011. Sharded IDENTIFYs are paced
per ``max_concurrency`` bucket (``fake.gateway.pacer``: interval 5 s, one bucket; a faster IDENTIFY
gets op 9). ``GET /gateway/bot`` gives the URL, ``fake.recommended_shards`` (default one per 1,000
guilds) and the session start limit.

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
        # refused: no modal, already submitted, another user, unknown input, required/length rules.
        # An input left out keeps its prefilled value. handle.modal_fields: the opened modal's inputs by
        # custom id (label, prefilled value, limits). The modal (callback 9) is checked against the spec
        # (modals.py): title 1-45, 1-5 rows / Labels / Text Displays, labels 1-45, inputs' limits.
        # Messages answering a modal submit carry interaction_metadata.triggering_interaction_metadata.
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
    unwatch = fake.transcript.watch(lambda kind, msg: ...)   # kind: "create", "edit" or "delete";
        # called synchronously after each change, ephemeral messages included (live views)

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

REST routes: GET /users/@me; GET /users/@me/guilds (after, limit; each with the bot's server-wide
``permissions``); GET /users/{id}; GET /oauth2/applications/@me; GET|PUT
/applications/{app}/commands and /applications/{app}/guilds/{guild}/commands; POST
/interactions/{id}/{token}/callback (JSON or multipart); GET|PATCH|DELETE
/webhooks/{app}/{token}/messages/@original and .../messages/{id}; POST /webhooks/{app}/{token};
GET /channels/{id}; POST /channels/{id}/messages (JSON or multipart payload_json + files[n]);
GET /channels/{id}/messages (newest first; limit, before, after; no nonce); GET|PATCH|DELETE
/channels/{id}/messages/{id}; POST /channels/{id}/typing; POST /users/@me/channels;
GET /guilds/{id}/members/{id} (404/10007 "Unknown Member" for someone not or no longer in the guild);
GET /guilds/{id}/channels (no threads, as on Discord) and GET /guilds/{id}/roles;
and GET /att/{id}/{filename}?ex&is&hm for uploaded bytes. Bot routes need
``Authorization: Bot <token>`` (else 401); interaction routes need none, as on Discord.
"""

from .client import OPTION_TYPE_NAMES, ClientRefusal, Upload
from .harness import assert_clean, run_bot
from .interaction import CallbackRecord, InteractionHandle
from .models import (
    ALL_PERMISSIONS,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    MIB,
    PERMISSIONS,
    ChannelType,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Intents,
    MessageFlags,
)
from .records import Button, FakeMessage, FaultRule, RequestRecord, Select, StoredAttachment, Violation
from .server import FakeDiscord, WaitTimeout

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "MIB",
    "OPTION_TYPE_NAMES",
    "PERMISSIONS",
    "Button",
    "CallbackRecord",
    "ChannelType",
    "ClientRefusal",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "FaultRule",
    "Intents",
    "InteractionHandle",
    "MessageFlags",
    "RequestRecord",
    "Select",
    "StoredAttachment",
    "Upload",
    "Violation",
    "WaitTimeout",
    "assert_clean",
    "run_bot",
]
