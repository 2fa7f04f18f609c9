"""Numbered SQL scripts shipped beside a backend: ``migrations/NNN_name.sql``, one list per dialect.

Both backends number the same changes alike (SQLite's ``004_delivery_groups.sql`` is PostgreSQL's
``004_delivery_groups.sql``), so a schema version means the same tables on either, and porting a
migration is adding one file of the same name to the other backend.
"""

from __future__ import annotations

import logging
import re
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


def numbered_scripts(package: str) -> list[Migration]:
    """The migrations shipped in ``package``'s ``migrations`` folder, in order (numbered 1..n, no gaps)."""
    found: list[Migration] = []
    for entry in resources.files(package).joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def statements(script: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside literals in our scripts)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
