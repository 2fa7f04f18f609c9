"""Numbered SQL scripts in ``migrations/``, applied in order; ``PRAGMA user_version`` records the last one."""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL script."""

    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    """The migrations shipped in ``bot/storage/sqlite/migrations``, in order."""
    found: list[Migration] = []
    for entry in resources.files(__package__ or "bot.storage.sqlite").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def apply(migration: Migration, conn: sqlite3.Connection) -> None:
    """Run a migration's statements and record its version (inside the caller's transaction)."""
    for statement in _statements(migration.sql):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {migration.version:d}")


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside literals in our scripts)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
