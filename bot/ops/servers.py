"""``doctor``'s Discord checks, over REST only: the token, the invite link, the commands, and each server's channels.

In each server the bot is in, every text channel is checked for what ``/imagine`` needs
(``bot.ops.permissions``), computed as Discord does from the bot's roles and the channel's overwrites.
A channel the bot cannot see is only listed (servers often hide channels on purpose; ``/imagine``
refuses there politely), unless ``/policy channels`` allows ``/imagine`` there; a channel it can see
but not post results in is a FAIL: members can use ``/imagine`` there and would be refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.ops.checks import Check, Verdict
from bot.ops.discord_rest import DiscordRefused, DiscordRest, DiscordUnreachable
from bot.ops.permissions import NEEDED, NEEDED_IN_THREADS, channel_permissions, invite_link, missing

__all__ = ["AllowedChannels", "check_discord"]

TEXT_CHANNELS = {0: "text", 5: "announcement", 15: "forum"}  # where /imagine can be used (forum: in its posts)
MAX_LISTED = 10
AllowedChannels = Callable[[int], Awaitable[tuple[int, ...]]]  # a server's /policy channels allow list


def _names(channels: list[str]) -> str:
    shown = ", ".join(channels[:MAX_LISTED])
    return shown + (f" and {len(channels) - MAX_LISTED} more" if len(channels) > MAX_LISTED else "")


async def check_discord(rest: DiscordRest, allowed_channels: AllowedChannels, dev_guild_id: int | None) -> list[Check]:
    """The token (and invite link), the slash commands, then every server the bot is in."""
    try:
        me = await rest.get("/users/@me")
        application = await rest.get("/oauth2/applications/@me")
    except DiscordRefused as exc:
        if exc.status == 401:
            return [
                Check(
                    "Discord token",
                    Verdict.FAIL,
                    "Discord refused DISCORD_TOKEN",
                    "Reset the token in Discord's developer portal (your application → Bot → Reset Token) "
                    "and put the new one in .env as DISCORD_TOKEN.",
                )
            ]
        return [Check("Discord token", Verdict.FAIL, f"Discord answered {exc}", "Try again in a minute.")]
    except DiscordUnreachable as exc:
        return [
            Check(
                "Discord token",
                Verdict.FAIL,
                f"cannot reach Discord at {rest.api_base} ({exc})",
                "Check the network (and DISCORD_API_BASE, which only a test setup sets).",
            )
        ]
    app_id = int(application["id"])
    checks = [
        Check(
            "Discord token",
            Verdict.OK,
            f"valid: the bot is {me.get('username')} (id {me.get('id')})",
            details=(f"invite it with {invite_link(app_id)}",),
        )
    ]
    if application.get("bot_require_code_grant"):
        checks.append(
            Check(
                "Discord application",
                Verdict.WARN,
                "'Requires OAuth2 Code Grant' is on, so the invite link fails",
                "Turn it off in the developer portal (your application → Bot).",
            )
        )
    checks.append(await _commands(rest, app_id, dev_guild_id))
    checks.extend(await _servers(rest, int(me["id"]), allowed_channels))
    return checks


async def _commands(rest: DiscordRest, app_id: int, dev_guild_id: int | None) -> Check:
    scope = f"/applications/{app_id}" + (f"/guilds/{dev_guild_id}" if dev_guild_id else "")
    try:
        names = {command.get("name") for command in await rest.get(scope + "/commands")}
    except (DiscordRefused, DiscordUnreachable) as exc:
        return Check("slash commands", Verdict.WARN, f"could not be listed ({exc})", "Try again in a minute.")
    if "imagine" not in names:
        return Check(
            "slash commands",
            Verdict.WARN,
            "/imagine is not registered with Discord yet",
            "The bot registers its commands when it starts; or run python -m bot sync.",
        )
    where = f"in server {dev_guild_id} (EGGBOT_DEV_GUILD_ID)" if dev_guild_id else "globally"
    return Check("slash commands", Verdict.OK, f"{len(names)} registered {where}, /imagine among them")


async def _servers(rest: DiscordRest, bot_id: int, allowed_channels: AllowedChannels) -> list[Check]:
    guilds: list[dict[str, Any]] = []
    while True:
        page = await rest.get("/users/@me/guilds", {"limit": "200", **({"after": guilds[-1]["id"]} if guilds else {})})
        guilds.extend(page)
        if len(page) < 200:
            break
    if not guilds:
        return [
            Check(
                "servers",
                Verdict.WARN,
                "the bot is in no server yet",
                "Invite it with the link above, then run doctor.",
            )
        ]
    checks = [Check("servers", Verdict.OK, f"the bot is in {len(guilds)} server{'s' if len(guilds) != 1 else ''}")]
    for guild in guilds:
        try:
            checks.extend(await _server(rest, bot_id, guild, allowed_channels))
        except (DiscordRefused, DiscordUnreachable) as exc:
            checks.append(Check(f"server {guild.get('name')!r}", Verdict.WARN, f"could not be read ({exc})"))
    return checks


async def _server(
    rest: DiscordRest, bot_id: int, guild: dict[str, Any], allowed_channels: AllowedChannels
) -> list[Check]:
    guild_id, subject = int(guild["id"]), f"server {guild['name']!r}"
    member = await rest.get(f"/guilds/{guild_id}/members/{bot_id}")
    roles = [int(role) for role in member.get("roles", [])]
    channels = await rest.get(f"/guilds/{guild_id}/channels")
    allowed = set(await allowed_channels(guild_id))
    checks: list[Check] = []
    usable, hidden = [], []
    for channel in channels:
        if channel.get("type") not in TEXT_CHANNELS or (allowed and int(channel["id"]) not in allowed):
            continue
        name = f"#{channel.get('name')}"
        perms = channel_permissions(
            int(guild["permissions"]),
            guild_id=guild_id,
            user_id=bot_id,
            role_ids=roles,
            overwrites=channel.get("permission_overwrites", []),
        )
        forum = channel["type"] == 15
        needed = [n for n in NEEDED if not (forum and n == "Send Messages")] + (
            list(NEEDED_IN_THREADS) if forum else []
        )
        lacking = missing(perms, needed)
        if lacking == needed or "View Channel" in lacking:
            hidden.append(name)
            if allowed:  # /policy sends members there: the bot must be able to work in it
                checks.append(_lacking(subject, name, lacking, "/policy channels allows /imagine there"))
            continue
        if lacking:
            checks.append(_lacking(subject, name, lacking, "members can use /imagine there and would be refused"))
            continue
        usable.append(name)
        if not forum and missing(perms, NEEDED_IN_THREADS):
            checks.append(
                Check(
                    f"{subject}, {name}",
                    Verdict.WARN,
                    "the bot lacks Send Messages in Threads: /imagine in its threads is refused",
                    _how_to_allow(name, ["Send Messages in Threads"]),
                )
            )
    found = f"/imagine can post in {_names(usable)}" if usable else "/imagine can post in no channel"
    if allowed:
        found += " (the channels /policy allows)"
    checks.insert(
        0,
        Check(
            subject,
            Verdict.OK if usable else Verdict.FAIL,
            found,
            None if usable else _how_to_allow("a channel", list(NEEDED)),
        ),
    )
    if hidden and not allowed:
        checks.append(
            Check(
                subject,
                Verdict.INFO,
                f"the bot cannot see {_names(hidden)}: /imagine is refused there",
                "Fine if meant; otherwise give the bot's role View Channel there.",
            )
        )
    return checks


def _lacking(subject: str, channel: str, lacking: list[str], why: str) -> Check:
    return Check(
        f"{subject}, {channel}",
        Verdict.FAIL,
        f"the bot lacks {', '.join(lacking)} ({why})",
        _how_to_allow(channel, lacking),
    )


def _how_to_allow(channel: str, names: list[str]) -> str:
    return (
        f"In Discord: {channel} → Edit Channel → Permissions → the bot's role: allow {', '.join(names)} "
        "(or give them to the bot's role in Server Settings → Roles)."
    )
