"""``python -m bot backup FILE``: a consistent copy of the database, taken while the bot runs.

Only ``DATABASE_PATH`` is read (no token is needed); with ``DATABASE_URL`` set it refuses and names
``pg_dump``, so a PostgreSQL operator never backs up a stale SQLite file by mistake. The copy is
SQLite's online backup, checked before it gets its name (``bot.storage.sqlite.maintenance``);
restoring is copying it back while the bot is stopped (README, "Backups").
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.settings import database_path
from bot.storage.sqlite import backup

log = logging.getLogger(__name__)

USAGE = "usage: python -m bot backup FILE"


def run(args: Sequence[str], env: Mapping[str, str]) -> int:
    """Back up to the one file named in ``args``; the exit status (0 written, 1 failed, 2 usage)."""
    if len(args) != 1 or args[0].startswith("-"):
        print(USAGE, file=sys.stderr)
        return 2
    if (env.get("DATABASE_URL") or "").strip():
        print(
            "eggbot: DATABASE_URL is set: the bot's database is PostgreSQL, which this command does not copy. "
            "Use PostgreSQL's own tools: pg_dump --format=custom --file=FILE DATABASE_URL (README, Backups).",
            file=sys.stderr,
        )
        return 2
    source, destination = database_path(env), Path(args[0])
    try:
        report = backup(source, destination)
    except FileNotFoundError:
        print(f"eggbot: no database at {source} (DATABASE_PATH): nothing to back up", file=sys.stderr)
        return 1
    except FileExistsError:
        print(f"eggbot: {destination} already exists; choose a new name (a backup never overwrites)", file=sys.stderr)
        return 1
    except (sqlite3.Error, OSError) as exc:
        print(f"eggbot: the backup of {source} failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"eggbot: backed up {source} to {report.destination} ({report.size:,} bytes, schema {report.schema}, "
        f"{report.tasks:,} jobs, integrity ok)"
    )
    return 0
