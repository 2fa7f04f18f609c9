"""Numbered SQL scripts in ``migrations/``, applied in order; ``PRAGMA user_version`` records the last one."""

from __future__ import annotations

import logging
import sqlite3

from bot.storage._scripts import Migration, numbered_scripts, statements

log = logging.getLogger(__name__)

__all__ = ["Migration", "apply", "bundled_migrations"]


def bundled_migrations() -> list[Migration]:
    """The migrations shipped in ``bot/storage/sqlite/migrations``, in order."""
    return numbered_scripts(__package__ or "bot.storage.sqlite")


def apply(migration: Migration, conn: sqlite3.Connection) -> None:
    """Run a migration's statements and record its version (inside the caller's transaction)."""
    for statement in statements(migration.sql):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {migration.version:d}")
