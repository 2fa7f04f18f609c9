"""``doctor``'s look at a PostgreSQL database: reachable, migrated, writable, without changing it.

The twin of ``bot.storage.sqlite.maintenance.check_up`` for ``DATABASE_URL``: one connection of its
own (not the bot's pool), nothing created or migrated, and a real write tried in a transaction that
is rolled back, so a read-only standby or a user without rights is found before the bot starts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import asyncpg

from bot.logs import redact_url

from .migrations import bundled_migrations, schema_version

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class PostgresCheckup:
    """What was found: ``problem`` (None when the bot can use it), the schema and the server's version."""

    where: str  # the URL without its password
    schema: int | None
    expected: int
    server: str | None
    problem: str | None


class _RolledBack(Exception):
    """Ends the trial write's transaction without committing it."""


async def check_up_postgres(url: str) -> PostgresCheckup:
    """Whether the bot can use the database at ``url``; never raises for what the database answers."""
    found = PostgresCheckup(redact_url(url), None, len(bundled_migrations()), None, None)
    try:
        conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = redact_url(str(exc)) or type(exc).__name__
        return replace(found, problem=f"cannot connect: {reason}")
    try:
        version = conn.get_server_version()
        found = replace(found, server=f"{version.major}.{version.minor}")
        schema = await schema_version(conn)
        found = replace(found, schema=schema)
        if schema > found.expected:
            return replace(found, problem=f"its schema {schema} is newer than this eggbot's ({found.expected})")
        if await conn.fetchval("SELECT pg_is_in_recovery()"):
            return replace(found, problem="it is a read-only standby (point DATABASE_URL at the primary)")
        try:
            async with conn.transaction():
                if schema >= 1:  # the bot's: write where its own health check does
                    await conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('doctor', now()::text) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                    )
                else:  # empty: the bot will create its tables here
                    await conn.execute("CREATE TABLE eggbot_doctor_probe (id integer)")
                raise _RolledBack
        except _RolledBack:
            pass
        except asyncpg.PostgresError as exc:
            return replace(found, problem=f"it cannot be written: {type(exc).__name__}: {redact_url(str(exc))}")
    except (OSError, asyncpg.InterfaceError, asyncpg.PostgresError) as exc:
        return replace(found, problem=f"the connection failed: {type(exc).__name__}")
    finally:
        await conn.close()
    return found
