"""The operator's view of the database file: a consistent copy while the bot runs, and a health check-up.

Plain ``sqlite3``, synchronous: the operator's commands (``python -m bot backup``, ``doctor``) call
these from a worker thread, never from the bot's event loop. Neither creates nor migrates a database.

``backup`` uses SQLite's online backup API (``sqlite3.Connection.backup``) in one step: the whole
copy is read under one read transaction, so it is a consistent snapshot even while the bot writes
(in WAL mode the bot's writers are not blocked meanwhile). The copy is written beside its final
name, checked (``PRAGMA integrity_check``), switched to a single-file journal and only then renamed
into place, so a half-written file never carries the backup's name.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path

from .migrations import bundled_migrations

__all__ = ["BackupReport", "DatabaseCheckup", "backup", "check_up"]

BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What was written."""

    destination: Path
    size: int
    schema: int
    tasks: int


@dataclass(frozen=True, slots=True)
class DatabaseCheckup:
    """What ``check_up`` found; ``problem`` is None when the file can be used as it is."""

    path: Path
    exists: bool
    schema: int | None
    expected: int
    integrity: str | None
    writable: bool
    problem: str | None


def _connect_existing(path: Path) -> sqlite3.Connection:
    """A connection to the file at ``path``, never creating one."""
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=rw", uri=True, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    return conn


def backup(source: Path, destination: Path) -> BackupReport:
    """Copy the database at ``source`` to ``destination`` (a new file), consistently, while it may be in use.

    Raises FileNotFoundError without a database at ``source``, FileExistsError when ``destination``
    exists, and sqlite3.Error (the partial copy removed) when SQLite cannot read or check it.
    """
    if not source.is_file():
        raise FileNotFoundError(f"no database at {source}")
    if destination.exists():
        raise FileExistsError(f"{destination} already exists")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    try:
        with contextlib.closing(_connect_existing(source)) as src:
            with contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as copy:
                src.backup(copy)  # pages=-1: one step, one read transaction, one consistent snapshot
                copy.execute("PRAGMA journal_mode = DELETE")  # the backup is one self-contained file
                integrity = copy.execute("PRAGMA integrity_check").fetchone()[0]
                if integrity != "ok":
                    raise sqlite3.DatabaseError(f"the copy fails SQLite's integrity check: {integrity}")
                schema = int(copy.execute("PRAGMA user_version").fetchone()[0])
                has_tasks = copy.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasks'")
                tasks = int(copy.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]) if has_tasks.fetchone() else 0
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupReport(destination, destination.stat().st_size, schema, tasks)


def _first_existing(path: Path) -> Path:
    for candidate in [path, *path.parents]:
        if candidate.exists():
            return candidate
    return Path("/")


def check_up(path: Path) -> DatabaseCheckup:
    """Whether the bot can use the database at ``path``: there (or creatable), migrated, intact, writable.

    A write is tried for real, in the ``meta`` table the bot's own health check writes to.
    """
    found = DatabaseCheckup(path, path.exists(), None, len(bundled_migrations()), None, False, None)
    if not found.exists:
        ancestor = _first_existing(path.parent)
        if not ancestor.is_dir():
            return replace(found, problem=f"its folder cannot be created: {ancestor} is a file, not a folder")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            return replace(found, problem=f"its folder cannot be created: {ancestor} is not writable")
        return replace(found, writable=True)
    if not path.is_file():
        return replace(found, problem="it is not a file")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return replace(
            found, problem=f"its folder {path.parent} is not writable (SQLite keeps -wal and -shm files there)"
        )
    try:
        with contextlib.closing(_connect_existing(path)) as conn:
            schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
            integrity = "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall()[:5])
            found = replace(found, schema=schema, integrity=integrity)
            if integrity != "ok":
                return replace(found, problem=f"SQLite's integrity check fails: {integrity}")
            if schema > found.expected:
                return replace(found, problem=f"its schema {schema} is newer than this eggbot's ({found.expected})")
            conn.execute("BEGIN IMMEDIATE")
            if schema >= 1:  # the bot's: write where its own health check does, for real
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('doctor', datetime('now'))")
                conn.execute("COMMIT")
            else:  # not the bot's yet: the write lock is all a new database needs
                conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return replace(found, problem=f"SQLite cannot use it: {exc}")
    return replace(found, writable=True)
