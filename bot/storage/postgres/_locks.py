"""What a write transaction locks before it reads what it is about to decide on (PostgreSQL only).

SQLite runs one writer at a time, so a change that counts and then writes (a member's spend, then
their hold; their queued jobs, then one more) can never race. PostgreSQL runs writers together,
at READ COMMITTED: each statement sees what had committed when it started, so two reservations
counted at once could both see room for one more. Such a change therefore first takes a
transaction-scoped advisory lock on what it counts (``pg_advisory_xact_lock``): a second change
counting the same thing waits for the first to commit or roll back, and its count then includes
the first one's write, because under READ COMMITTED every statement reads afresh.

Why locks at READ COMMITTED and not SERIALIZABLE: the lock makes exactly the counted-then-written
pairs wait, in a fixed order (a member's queue, then the member's spend, then the guild's, then the
account's), so nothing has to be retried; SERIALIZABLE would abort and re-run whole changes under
contention (fifty reservations by one member at the edge of their quota become dozens of retries),
and it does not mix with the ``FOR UPDATE SKIP LOCKED`` claims a task lease will use. Advisory
rather than row locks: nothing to create first (a member with no row yet is the usual case), no
row versions written per reservation, released by the commit even when a process dies, and correct
behind a transaction-mode connection pooler. The keys live in the single-``bigint`` key space; the
pair-of-``int`` space stays free for other uses (IDENTIFY pacing between processes, say).
A setting read in a write transaction is locked the same way, so two moderators' read-change-write
edits of one setting (``GuildSettings.update``) both count. The running caps are too: a move to
'submitting' counts the tasks running upstream under one ``running`` lock, shared by every bot
process, and takes no other, so N processes never start more than the cap (``count_running``).
Read-only transactions take none: they decide nothing.
"""

from __future__ import annotations

import hashlib
import logging

from ._bridge import Bridge

log = logging.getLogger(__name__)


def lock_key(scope: str, *parts: int | str) -> int:
    """A stable signed 64-bit key for ``scope`` and ids (a collision only makes two changes wait on each other)."""
    text = ":".join([scope, *(str(part) for part in parts)]).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


class Locks:
    """The advisory locks of one transaction; taking one twice is free."""

    __slots__ = ("_db", "_held", "_write")

    def __init__(self, db: Bridge, *, write: bool) -> None:
        self._db = db
        self._write = write
        self._held: set[int] = set()

    def take(self, scope: str, *parts: int | str) -> None:
        """Wait until this transaction holds the lock of ``scope``/``parts`` (until it ends); no-op when reading."""
        if not self._write:
            return
        key = lock_key(scope, *parts)
        if key in self._held:
            return
        self._db.fetchval("SELECT pg_advisory_xact_lock($1)", key)
        self._held.add(key)
