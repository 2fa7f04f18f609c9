"""``python -m bot doctor`` against the fakes: a good setup passes, each bad one fails with the right advice."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import discord

from bot.app.client import INVITE_PERMISSIONS
from bot.guilds import ALLOWED_CHANNELS, GuildSettings
from bot.logs import redact_url
from bot.ops.doctor import diagnose, render
from bot.storage.postgres.migrations import bundled_migrations as pg_migrations
from bot.storage.sqlite import Database
from bot.storage.sqlite.migrations import bundled_migrations
from testkit.backends import Backend
from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.postgres import PASSWORD
from testkit.processes import bot_env, run_command
from testkit.starter import BotStarter
from testkit.world import World


async def good_env(tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> dict[str, str]:
    """An operator's settings after the bot ran once: database migrated, commands registered."""
    await start_bot()
    await start_bot.stop()
    return bot_env(tmp_path, world.fake, eggapi.url, DATABASE_PATH=str(start_bot.db_path))


async def report(env: dict[str, str]) -> tuple[str, bool]:
    """The printed report, and whether doctor would exit 0."""
    checks = await diagnose(env)
    text = render(checks)
    return text, "to fix (FAIL above)" not in text


def line_of(text: str, start: str) -> str:
    """The report's line that starts with ``start``, and the advice under it."""
    lines = text.splitlines()
    [index] = [i for i, line in enumerate(lines) if line.startswith(start)]
    follow = [line for line in lines[index + 1 : index + 3] if line.startswith("        ")]
    return "\n".join([lines[index], *follow])


async def test_a_good_setup_passes_and_prints_the_invite_link(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    env = await good_env(tmp_path, world, eggapi, start_bot)
    text, ok = await report(env)
    assert ok, text
    assert "FAIL" not in text and text.endswith("Everything the bot needs works.")
    assert line_of(text, "OK    Discord token").startswith("OK    Discord token: valid: the bot is EggBot")
    invite = discord.utils.oauth_url(world.fake.application_id, permissions=INVITE_PERMISSIONS)
    assert f"        invite it with {invite}" in text
    assert f"OK    slash commands: {len(world.fake.global_commands)} registered globally, /imagine among them" in text
    assert "OK    EggAPI key at " in text and ": accepted;" in text
    assert (
        f"OK    database {start_bot.db_path}: writable, migrated (schema {len(bundled_migrations())}), integrity ok"
        in text
    )
    assert "INFO  webhooks: off" in text
    assert "OK    server 'Egg Lovers': /imagine can post in #general" in text
    assert "WARN  EGGBOT_WEBHOOK_PUBLIC_URL" not in text
    assert_clean(world.fake)


async def test_python_m_bot_doctor_exits_0_then_1(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    env = await good_env(tmp_path, world, eggapi, start_bot)
    identified = world.fake.gateway.identify_count
    code, out, err = await run_command(env, tmp_path, "doctor")
    assert code == 0, out + err
    assert world.fake.gateway.identify_count == identified  # REST only: the gateway is never opened
    assert "Everything the bot needs works" in out
    world.fake.deny_bot(world.general, "SEND_MESSAGES")
    code, out, err = await run_command(env, tmp_path, "doctor")
    assert code == 1 and "FAIL  server 'Egg Lovers', #general: the bot lacks Send Messages, Attach Files" in out
    code, out, err = await run_command({**env, "DISCORD_TOKEN": ""}, tmp_path, "doctor")
    assert code == 1 and "FAIL  DISCORD_TOKEN: is not set" in out and "Reset Token" in out
    assert "OK    EggAPI key" in out  # the other checks still ran


async def test_a_refused_token_says_where_to_get_a_new_one(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    env = await good_env(tmp_path, world, eggapi, start_bot)
    text, ok = await report({**env, "DISCORD_TOKEN": "not-the-bots-token"})
    assert not ok
    assert line_of(text, "FAIL  Discord token") == (
        "FAIL  Discord token: Discord refused DISCORD_TOKEN\n"
        "        → Reset the token in Discord's developer portal (your application → Bot → Reset Token) "
        "and put the new one in .env as DISCORD_TOKEN."
    )
    assert "not-the-bots-token" not in text
    assert "OK    EggAPI key" in text and "OK    database" in text


async def test_a_refused_eggapi_key(tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    env = await good_env(tmp_path, world, eggapi, start_bot)
    text, ok = await report({**env, "EGGAPI_API_KEY": "egg_sk_revoked"})
    assert not ok
    assert "FAIL  EGGAPI_API_KEY" not in text  # it is set; EggAPI refuses it
    failed = line_of(text, "FAIL  EggAPI key")
    assert "EggAPI refused EGGAPI_API_KEY" in failed and "→ Copy an active key from the EggAPI dashboard" in failed
    assert "egg_sk_revoked" not in text


async def test_channels_missing_permissions_are_named_with_what_to_allow(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    env = await good_env(tmp_path, world, eggapi, start_bot)
    fake = world.fake
    art = fake.add_channel(world.guild, "art")
    fake.deny_bot(art, "ATTACH_FILES", "READ_MESSAGE_HISTORY")
    secret = fake.add_channel(world.guild, "secret")
    fake.deny_bot(secret, "VIEW_CHANNEL")
    text, ok = await report(env)
    assert not ok
    assert line_of(text, "FAIL  server 'Egg Lovers', #art") == (
        "FAIL  server 'Egg Lovers', #art: the bot lacks Attach Files, Read Message History "
        "(members can use /imagine there and would be refused)\n"
        "        → In Discord: #art → Edit Channel → Permissions → the bot's role: allow Attach Files, "
        "Read Message History (or give them to the bot's role in Server Settings → Roles)."
    )
    assert "OK    server 'Egg Lovers': /imagine can post in #general" in text
    assert "INFO  server 'Egg Lovers': the bot cannot see #secret: /imagine is refused there" in text
    assert "#secret: the bot lacks" not in text  # hidden on purpose is not a failure ...

    async with await Database.open(start_bot.db_path) as db:  # ... unless /policy sends members there
        await GuildSettings(db).set(world.guild.id, ALLOWED_CHANNELS, (secret.id,))
    text, ok = await report(env)
    assert not ok
    assert "FAIL  server 'Egg Lovers': /imagine can post in no channel (the channels /policy allows)" in text
    assert "FAIL  server 'Egg Lovers', #secret: the bot lacks View Channel, Send Messages" in text
    assert "#art" not in text  # not an allowed channel: members are sent elsewhere


async def test_an_unwritable_database(tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    env = await good_env(tmp_path, world, eggapi, start_bot)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    database = blocker / "eggbot.db"
    text, ok = await report({**env, "DATABASE_PATH": str(database)})
    assert not ok
    assert line_of(text, f"FAIL  database {database}") == (
        f"FAIL  database {database}: its folder cannot be created: {blocker} is a file, not a folder\n"
        "        → Make DATABASE_PATH's folder writable by the user the bot runs as (chown or chmod), "
        "or set DATABASE_PATH to a file in a writable folder."
    )
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"this is not SQLite" * 200)
    text, ok = await report({**env, "DATABASE_PATH": str(damaged)})
    assert not ok and f"FAIL  database {damaged}: SQLite cannot use it: file is not a database" in text
    fresh = tmp_path / "new" / "eggbot.db"
    text, ok = await report({**env, "DATABASE_PATH": str(fresh)})
    assert ok and f"OK    database {fresh}: not created yet" in text and not fresh.parent.exists()


async def test_webhook_settings_are_checked(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    env = await good_env(tmp_path, world, eggapi, start_bot)
    text, ok = await report({**env, "EGGBOT_WEBHOOK_PUBLIC_URL": "http://127.0.0.1:9/eggapi/webhook?token=abc"})
    assert ok, text  # webhooks are optional: polling delivers every job
    assert "WARN  webhooks: the public URL is not https" in text
    assert "WARN  webhooks: 127.0.0.1 is not reachable from the internet" in text
    assert "WARN  webhooks: no EGGBOT_WEBHOOK_SECRET" in text
    assert "WARN  webhooks: nothing answers at http://127.0.0.1:9/eggapi/webhook from here" in text
    assert "token=abc" not in text


async def test_settings_that_cannot_be_read_are_listed(tmp_path: Path, world: World, eggapi: FakeEggAPI) -> None:
    env = bot_env(tmp_path, world.fake, eggapi.url, EGGBOT_QUOTA_PERIOD="fortnight", EGGBOT_METRICS="perhaps")
    text, ok = await report(env)
    assert not ok
    assert "FAIL  settings: cannot be read" in text
    assert "        EGGBOT_QUOTA_PERIOD: must be one of day, week, month (got 'fortnight')" in text
    assert "        EGGBOT_METRICS: must be true or false (got 'perhaps')" in text


async def test_a_postgresql_database_is_checked_where_database_url_points(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, postgres: Backend, start_bot: BotStarter
) -> None:
    server = postgres.server
    assert server is not None
    url = await postgres.url()
    await start_bot(DATABASE_URL=url)  # migrated by the bot, as after its first start
    await start_bot.stop()
    env = bot_env(tmp_path, world.fake, eggapi.url, DATABASE_URL=url)
    shown = redact_url(url)
    text, ok = await report(env)
    assert ok, text
    assert (
        f"OK    database {shown}: PostgreSQL " in text and f"writable, migrated (schema {len(pg_migrations())})" in text
    )
    assert PASSWORD not in text
    assert "OK    server 'Egg Lovers': /imagine can post in #general" in text

    empty = await server.create_database(empty=True)
    text, ok = await report({**env, "DATABASE_URL": empty})
    assert ok and "empty and writable: the bot creates its tables at its first start" in text
    name = empty.rsplit("/", 1)[-1]
    conn = await asyncpg.connect(empty)
    try:  # the trial write was rolled back: doctor creates nothing
        assert await conn.fetchval("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    finally:
        await conn.close()

    wrong = url.replace(PASSWORD, "not-the-password")
    text, ok = await report({**env, "DATABASE_URL": wrong})
    assert not ok and PASSWORD not in text and "not-the-password" not in text
    assert line_of(text, f"FAIL  database {redact_url(wrong)}: cannot connect").endswith(
        "→ Check DATABASE_URL's host, port, user, password and database name, and that the server runs."
    )

    await server.admin(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    text, ok = await report({**env, "DATABASE_URL": empty})
    assert not ok and "it cannot be written: ReadOnlySQLTransactionError" in text
    assert "→ Grant the user in DATABASE_URL the right to create and write tables in this database." in text
