"""``doctor``'s checks that need no Discord: the settings, the database, the webhook settings, the EggAPI key.

Each returns ``Check``s: a plain verdict, what was found, and what to do about it. ``FAIL`` is
something the bot needs that does not work (doctor then exits 1); ``WARN`` works but is probably a
mistake; ``OK`` and ``INFO`` need nothing.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

import aiohttp

from bot.eggapi import EggAPIClient, EggAPIError, EggAPIUnavailable, Forbidden, Unauthorized
from bot.money import format_money
from bot.settings import Settings, SettingsError, load_settings, settings_warnings
from bot.storage.sqlite import check_up

__all__ = ["Check", "Verdict", "check_database", "check_eggapi", "check_webhooks", "read_settings"]

SECRETS = ("DISCORD_TOKEN", "EGGAPI_API_KEY")
WHERE_SECRETS_COME_FROM = {
    "DISCORD_TOKEN": "Discord's developer portal → your application → Bot → Reset Token",
    "EGGAPI_API_KEY": "the EggAPI dashboard → API keys (it starts with egg_sk_)",
}


class Verdict(enum.Enum):
    """How one check came out, worst last."""

    OK = "ok"
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``subject`` (what was checked), ``verdict``, ``found`` and, unless OK, ``advice``."""

    subject: str
    verdict: Verdict
    found: str
    advice: str | None = None
    details: tuple[str, ...] = field(default=())


def read_settings(env: Mapping[str, str]) -> tuple[Settings | None, list[Check]]:
    """The settings as the bot would read them; a missing token or key still lets the other checks run."""
    try:
        settings = load_settings(env)
    except SettingsError as exc:
        blank = [name for name in SECRETS if name in exc.names and not (env.get(name) or "").strip()]
        checks = [
            Check(
                name, Verdict.FAIL, "is not set", f"Put it in .env as {name}=… (from {WHERE_SECRETS_COME_FROM[name]})."
            )
            for name in blank
        ]
        others = [(name, problem) for name, problem in exc.problems if name not in blank]
        if others:
            lines = tuple(f"{name}: {problem}" for name, problem in others)
            checks.insert(
                0, Check("settings", Verdict.FAIL, "cannot be read", ".env.example describes every setting.", lines)
            )
            return None, checks
        settings = load_settings({**env, **{name: "(not set)" for name in blank}})
        return settings, [Check("settings", Verdict.OK, "read from the environment and .env"), *checks]
    checks = [Check("settings", Verdict.OK, "read from the environment and .env")]
    for name, problem in settings_warnings(settings):
        if name == "EGGBOT_WEBHOOK_PUBLIC_URL":
            continue  # check_webhooks says it, without the URL's query (a proxy's token may be in it)
        checks.append(Check(name, Verdict.WARN, problem, ".env.example describes the setting."))
    return settings, checks


async def check_database(settings: Settings) -> Check:
    """Writable (a real write), migrated, SQLite's integrity check; never creates or migrates it."""
    if settings.database_url is not None:
        return await _check_postgres(settings.database_url)
    path = settings.database_path
    subject = f"database {path}"
    found = await asyncio.to_thread(check_up, path)
    if found.problem is not None:
        if "folder" in found.problem or "not a file" in found.problem:
            advice = (
                "Make DATABASE_PATH's folder writable by the user the bot runs as (chown or chmod), "
                "or set DATABASE_PATH to a file in a writable folder."
            )
        elif "integrity" in found.problem:
            advice = "Stop the bot and restore the newest backup (README, Backups)."
        elif "newer" in found.problem:
            advice = "Run the newer eggbot that wrote it, or restore a backup made by this version."
        else:
            advice = "Check that DATABASE_PATH names eggbot's database and that nothing else holds it locked."
        return Check(subject, Verdict.FAIL, found.problem, advice)
    if not found.exists:
        return Check(subject, Verdict.OK, "not created yet: the bot creates it at its first start")
    assert found.schema is not None
    if found.schema < found.expected:
        return Check(
            subject,
            Verdict.WARN,
            f"at schema {found.schema}: the bot migrates it to {found.expected} when it starts",
            "Take a backup first: python -m bot backup FILE.",
        )
    size = path.stat().st_size
    return Check(subject, Verdict.OK, f"writable, migrated (schema {found.schema}), integrity ok, {size:,} bytes")


async def _check_postgres(url: str) -> Check:
    """Reachable, migrated, writable (a write rolled back); never creates or migrates anything."""
    try:
        from bot.storage.postgres.checkup import check_up_postgres
    except ImportError:
        return Check(
            "database",
            Verdict.FAIL,
            "DATABASE_URL is set but asyncpg is not installed",
            "pip install 'eggbot[postgres]'",
        )
    found = await check_up_postgres(url)
    subject = f"database {found.where}"
    if found.problem is not None:
        if found.problem.startswith("cannot connect"):
            advice = "Check DATABASE_URL's host, port, user, password and database name, and that the server runs."
        elif "newer" in found.problem:
            advice = "Run the newer eggbot that wrote it."
        elif "standby" in found.problem:
            advice = "Point DATABASE_URL at the primary server."
        else:
            advice = "Grant the user in DATABASE_URL the right to create and write tables in this database."
        return Check(subject, Verdict.FAIL, found.problem, advice)
    assert found.schema is not None
    server = f"PostgreSQL {found.server}"
    if found.schema == 0:
        return Check(
            subject, Verdict.OK, f"{server}, empty and writable: the bot creates its tables at its first start"
        )
    if found.schema < found.expected:
        return Check(
            subject,
            Verdict.WARN,
            f"{server}, at schema {found.schema}: the bot migrates it to {found.expected} when it starts",
            "Take a backup first (pg_dump).",
        )
    return Check(subject, Verdict.OK, f"{server}, writable, migrated (schema {found.schema})")


def _local_host(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.endswith((".local", ".internal", ".lan"))
    return address.is_private or address.is_loopback or address.is_link_local


async def check_webhooks(settings: Settings, session: aiohttp.ClientSession) -> list[Check]:
    """The webhook settings: https, signed, reachable-looking, and whether anything answers the public URL."""
    url = settings.webhook_public_url
    if url is None:
        found = "off: the bot polls EggAPI for every job"
        advice = "Optional: set EGGBOT_WEBHOOK_PUBLIC_URL (and EGGBOT_WEBHOOK_SECRET) for faster results."
        return [Check("webhooks", Verdict.INFO, found, advice)]
    parts = urlsplit(url)
    address = parts._replace(query="", fragment="").geturl()
    checks = [
        Check(
            "webhooks",
            Verdict.OK,
            f"on: EggAPI calls {address}, served on {settings.webhook_host}:{settings.webhook_port}",
        )
    ]
    if parts.scheme != "https":
        checks.append(Check("webhooks", Verdict.WARN, "the public URL is not https", "EggAPI documents https URLs."))
    if _local_host(parts.hostname or ""):
        checks.append(
            Check(
                "webhooks",
                Verdict.WARN,
                f"{parts.hostname} is not reachable from the internet, so EggAPI cannot call it",
                "Use the public https address of your reverse proxy or tunnel.",
            )
        )
    if not settings.webhook_secret:
        checks.append(
            Check(
                "webhooks",
                Verdict.WARN,
                "no EGGBOT_WEBHOOK_SECRET: deliveries are accepted unsigned",
                "Generate a webhook secret in the EggAPI dashboard and set EGGBOT_WEBHOOK_SECRET.",
            )
        )
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=5), allow_redirects=False) as response:
            answered = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        checks.append(
            Check(
                "webhooks",
                Verdict.WARN,
                f"nothing answers at {address} from here ({type(exc).__name__})",
                "Is the bot running, and does your proxy forward that path to "
                f"{settings.webhook_host}:{settings.webhook_port}? (Polling still delivers every job.)",
            )
        )
    else:
        checks.append(Check("webhooks", Verdict.OK, f"something answers at {address} (HTTP {answered} to a GET)"))
    return checks


async def check_eggapi(settings: Settings, session: aiohttp.ClientSession) -> Check:
    """The key, by EggAPI's usage summary (a read that costs nothing)."""
    subject = f"EggAPI key at {settings.eggapi_base_url}"
    client = EggAPIClient(
        session, api_key=settings.eggapi_api_key, base_url=settings.eggapi_base_url, timeout=10, max_attempts=2
    )
    try:
        rows = await client.usage_summary()
    except Unauthorized:
        return Check(
            subject,
            Verdict.FAIL,
            "EggAPI refused EGGAPI_API_KEY",
            f"Copy an active key from {WHERE_SECRETS_COME_FROM['EGGAPI_API_KEY']} into .env.",
        )
    except Forbidden:
        return Check(
            subject, Verdict.FAIL, "EggAPI accepts the key but not this account", "Check the account in the dashboard."
        )
    except EggAPIUnavailable as exc:
        return Check(
            subject,
            Verdict.FAIL,
            f"EggAPI cannot be reached or is down ({exc.code})",
            "Check the network and EGGAPI_BASE_URL, then try again in a few minutes.",
        )
    except EggAPIError as exc:
        return Check(subject, Verdict.FAIL, f"EggAPI answered {exc.status} ({exc.code})", "Try again; see the log.")
    images = sum((row.total_units for row in rows), Decimal(0))
    cost = sum((row.total_cost for row in rows), Decimal(0))
    return Check(
        subject, Verdict.OK, f"accepted; the account's usage so far: {format_money(cost)} for {images:,} images"
    )
