"""``python -m bot``: runs the bot; ``sync`` forces a command sync; ``unconfirmed`` is the operator's desk;
``playground`` runs the bot against an embedded Discord and simulated images, in a web page; ``migrate
--to postgresql://…`` copies the SQLite database into an empty PostgreSQL one (``bot.storage.postgres.copy``).

Settings → logging → then either the Discord side (``bot.app.startup``) or the operator's
command (``bot.unconfirmed.cli``); both build their objects with ``bot.services``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import find_dotenv, load_dotenv

from bot.logs import configure_logging, redact_url
from bot.money import format_money
from bot.ops import backup as backup_cli
from bot.setting_values import parse_database_url
from bot.settings import Settings, SettingsError, load_settings, settings_warnings
from bot.unconfirmed import cli as operator_cli

log = logging.getLogger("bot")

USAGE = (
    "usage: python -m bot [run | sync | playground | doctor | backup FILE | migrate --to postgresql://...\n"
    "                     | unconfirmed [adopt TASK EGG_TASK_ID | release TASK [--force]]]"
)
NO_TOKEN_HINT = (
    "eggbot: no DISCORD_TOKEN, so there is no Discord bot to run. To try eggbot without one, open the\n"
    "playground (an embedded Discord and simulated images in your browser): python -m bot playground\n"
    "(./scripts/run starts it by itself when no token is set)."
)


SWITCH_INTERVAL = 0.001  # seconds; CPython's default is 0.005


def tune_interpreter() -> None:
    """Hand the GIL over sooner: the database thread's short jobs then wait less behind a busy event loop.

    Every database change is one function on aiosqlite's thread (``bot.storage.sqlite``); with the default
    5 ms switch interval a burst of commands kept it waiting for the GIL. Measured with
    ``python -m bench --scenarios ack``: ack p99 at 50 concurrent 42 -> 38 ms on average.
    """
    sys.setswitchinterval(SWITCH_INTERVAL)


def starting_line(settings: Settings) -> str:
    """What this process is about to do, in words (no secrets; not a dump of every setting)."""
    if settings.webhook_public_url:
        # Scheme, host and path only: a query string may carry a token of the operator's proxy.
        address = urlsplit(settings.webhook_public_url)._replace(query="", fragment="").geturl()
        webhooks = f"webhooks at {address} ({'signed' if settings.webhook_secret else 'unsigned'})"
    else:
        webhooks = "webhooks off"
    return (
        f"starting: EggAPI at {settings.eggapi_base_url}, database {settings.database_target}, default limit "
        f"{format_money(settings.quota_limit)} per member per {settings.quota_period} ({settings.quota_timezone}), "
        f"{webhooks}"
    )


def migrate_target(args: Sequence[str]) -> str | None:
    """The PostgreSQL URL of ``migrate --to URL`` (or ``--to=URL``), or None if the words are malformed."""
    if len(args) == 2 and args[0] == "--to":
        return args[1]
    if len(args) == 1 and args[0].startswith("--to="):
        return args[0].removeprefix("--to=")
    return None


async def migrate(source: Path, url: str) -> int:
    """``python -m bot migrate --to URL``: copy the SQLite database into an empty PostgreSQL one; 0 once verified."""
    try:
        parse_database_url(url)
    except ValueError as exc:
        print(f"eggbot: migrate: --to {exc} (got {redact_url(url)!r})", file=sys.stderr)
        return 2
    try:
        from bot.storage.postgres.copy import CopyRefused, copy_sqlite_to_postgres, render
    except ImportError as exc:
        print(f"eggbot: migrate: PostgreSQL's driver is missing ({exc.name}): pip install 'eggbot[postgres]'")
        return 1
    try:
        report = await copy_sqlite_to_postgres(source, url)
    except CopyRefused as exc:
        print(f"eggbot: migrate: {exc}", file=sys.stderr)
        return 1
    print(render(report))
    return 0 if report.verified else 1


def run(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    operator = operator_cli.parse(args[1:]) if args[:1] == ["unconfirmed"] else None
    target = migrate_target(args[1:]) if args[:1] == ["migrate"] else None
    simple: tuple[list[str], ...] = ([], ["run"], ["sync"], ["playground"], ["doctor"])
    if args not in simple and operator is None and target is None and args[:1] != ["backup"]:
        print(USAGE, file=sys.stderr)
        return 2
    load_dotenv(find_dotenv(usecwd=True))
    if args[:1] == ["backup"]:
        return backup_cli.run(args[1:], os.environ)
    if args == ["doctor"]:
        from bot.ops.doctor import run as run_doctor  # needs no valid settings: it says what is wrong with them

        return run_doctor(os.environ)
    if target is not None:
        configure_logging(os.environ.get("LOG_LEVEL", "WARNING").strip().upper() or "WARNING")
        return asyncio.run(migrate(Path(os.environ.get("DATABASE_PATH", "").strip() or "data/eggbot.db"), target))
    if args == ["playground"]:
        from bot.playground.runner import run_playground  # loads discord.py and the test kit's fakes

        return run_playground(os.environ)
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        print(f"eggbot: {exc}", file=sys.stderr)
        if "DISCORD_TOKEN" in exc.names and not os.environ.get("DISCORD_TOKEN", "").strip():
            print(NO_TOKEN_HINT, file=sys.stderr)
        return 2
    for name, problem in settings_warnings(settings):
        print(f"eggbot: warning: {name}: {problem}; starting anyway", file=sys.stderr)
    configure_logging(settings.log_level, json_lines=settings.log_format == "json", secrets=settings.secrets)
    tune_interpreter()
    if operator is not None:
        return asyncio.run(operator_cli.unconfirmed(settings, operator))
    log.info("%s", starting_line(settings))
    from bot.app.startup import run_discord  # only now: the operator's commands never load discord

    return run_discord(settings, sync_only=args == ["sync"])


if __name__ == "__main__":
    sys.exit(run())
