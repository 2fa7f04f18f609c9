"""The storage seam: what the lifecycle, the ledger, the reports and the guild settings ask of a database.

A change is one synchronous function of a ``Transaction``, handed to ``Storage.transaction``: the
backend runs it inside one database transaction (SQLite: in one hop to its connection thread), so
domain code decides between reads and writes without holding any lock of its own, and an
exception rolls everything back. The repositories are views of that one transaction and are only
valid inside the function. A backend with an async driver runs the function on a worker thread and
bridges each repository call to its connection; domain code does not change
(``bot.storage.postgres``).

What a change may count on, on either backend: it sees what was committed before it, all of it
commits or none of it, and a guarded write (``move``, ``close_hold``: ``UPDATE … WHERE status =
…``) applies once however many changes race for it. SQLite runs one change at a time; PostgreSQL
runs them side by side at READ COMMITTED, so a read that a write then depends on must be locked by
the repository that reads it: a member's or a guild's spend and the account's holds
(``LedgerRepository``), a member's queued tasks (``count_in_state``), the tasks running upstream
(``count_running``) and a setting read in a change (``GuildSettingsRepository.get``) are. A new
count-then-write needs the same in each backend.

Repositories speak domain values (``TaskRecord``, ``Hold``, ``Decimal``, aware ``datetime``);
encoding them is the backend's business. They make no domain decisions: limits, transition rules
and prices are decided by the callers, which pass what a guarded write must check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

# Split out for length, and imported from here as before (the aliases re-export them):
from .ledger_repository import GuildOverrides as GuildOverrides
from .ledger_repository import LedgerRepository as LedgerRepository
from .task_repository import TASK_FIELDS as TASK_FIELDS
from .task_repository import TaskRepository as TaskRepository

if TYPE_CHECKING:
    from bot.reports import TaskLine

log = logging.getLogger(__name__)

T = TypeVar("T")

JsonValue = Any
"""What a guild setting holds: None, bool, int, float, str, lists and string-keyed dicts of them."""


class StorageUnavailable(RuntimeError):
    """The database could not be opened (server unreachable, login refused, driver missing); says which, no secret."""


class DatabaseAway(RuntimeError):
    """The database server stopped answering mid-run (refuses connections, dropped one): the shared point of
    every process is away. A change that failed so may or may not have been committed (its answer was lost);
    background work retries, a member is told to try again later."""


class IntegrityError(Exception):
    """A write broke a uniqueness or reference rule (a second hold of a task, an EggAPI task id taken twice).

    Each backend raises this in place of its driver's own error, at the end of the failed
    transaction, so callers catch one class whatever the database.
    """


@dataclass(frozen=True, slots=True)
class HoldTotals:
    """One guild's all-time holds that count: settled costs, active holds and how many are active."""

    settled: Decimal
    reserved: Decimal
    active: int


class ReportQueries(Protocol):
    """The read model over tasks joined with their holds, always for one guild."""

    def task_lines(
        self, guild_id: int, *, member_id: int | None, start: datetime | None, end: datetime | None
    ) -> list[TaskLine]:
        """Tasks by the time their hold was taken (else created) in [start, end), newest first."""
        ...

    def hold_totals(self, guild_id: int) -> HoldTotals: ...


class GuildSettingsRepository(Protocol):
    """Per-guild and per-member settings that are not money: JSON values under string keys."""

    def get(self, guild_id: int, key: str) -> JsonValue | None: ...

    def put(self, guild_id: int, key: str, value: JsonValue, now: datetime) -> None: ...

    def delete(self, guild_id: int, key: str) -> None: ...

    def all(self, guild_id: int) -> dict[str, JsonValue]: ...

    def get_member(self, guild_id: int, member_id: int, key: str) -> JsonValue | None: ...

    def put_member(self, guild_id: int, member_id: int, key: str, value: JsonValue, now: datetime) -> None: ...

    def delete_member(self, guild_id: int, member_id: int, key: str) -> None: ...

    def member_all(self, guild_id: int, member_id: int) -> dict[str, JsonValue]:
        """Every per-member setting of one member in one guild."""
        ...

    def delete_member_all(self, guild_id: int, member_id: int) -> int:
        """Forget every per-member setting of one member in one guild; how many there were."""
        ...


class GenerationRepository(Protocol):
    """Generation numbers of what bot processes keep in memory: a write adds one, a reader compares."""

    def get(self, name: str) -> int:
        """The current generation of ``name`` (0 before its first write)."""
        ...

    def bump(self, name: str) -> int:
        """Add one to ``name``'s generation (in a change: with the write it stands for); the new value."""
        ...


class ProcessRepository(Protocol):
    """The bot processes on this database (``bot.lifecycle.processes``), and what EggAPI told any of them.

    Times are the database's clock (PostgreSQL's, or the one machine SQLite lives on), as for leases.
    """

    def register(self, owner: str, seat: str, number: int, ttl: float, *, replace_seat: bool) -> int | None:
        """Record ``owner`` of ``seat`` as live now, as registration ``number``; forget every process whose
        heartbeat is older than ``ttl`` seconds and, with ``replace_seat``, ``seat``'s other ones; the lowest
        number of the live ones it replaced (the others counted it), None when it replaced none."""
        ...

    def heartbeat(self, owner: str, ttl: float, seen: int) -> bool:
        """Renew ``owner``'s heartbeat and note the registration it has seen; False if it had lapsed or is gone."""
        ...

    def live(self, ttl: float) -> list[tuple[str, int]]:
        """Every process whose heartbeat is younger than ``ttl`` seconds: (owner, the newest registration it saw)."""
        ...

    def deregister(self, owner: str) -> None:
        """Forget ``owner`` (a clean stop): the others' shares grow at their next look."""
        ...

    def record_pause(self, seconds: float, slowdowns: int) -> None:
        """Pause every process for ``seconds`` from now (unless a longer pause stands) and count ``slowdowns``."""
        ...

    def pause_state(self) -> tuple[float, int]:
        """(seconds the shared pause still lasts, 0 when none; the slowdowns counted so far)."""
        ...


class Transaction(Protocol):
    """One unit of work: every repository sees and changes the same transaction."""

    @property
    def tasks(self) -> TaskRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def reports(self) -> ReportQueries: ...

    @property
    def guilds(self) -> GuildSettingsRepository: ...

    @property
    def generations(self) -> GenerationRepository: ...

    @property
    def processes(self) -> ProcessRepository: ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the event loop once committed (never if rolled back)."""
        ...


class Storage(Protocol):
    """A database the bot's services share: ``bot.storage.sqlite.Database`` by default,
    ``bot.storage.postgres.PostgresDatabase`` when ``DATABASE_URL`` is set (``bot.services.open_storage``)."""

    async def transaction(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` in one write transaction: all of it commits, or none of it (the exception propagates)."""
        ...

    async def read(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` (reads only) against one consistent view."""
        ...

    async def get_meta(self, key: str) -> str | None:
        """A small fact kept between runs (e.g. the synced command hash), or None."""
        ...

    async def set_meta(self, key: str, value: str) -> None: ...

    async def reserve_slot(self, key: str, interval: float, now: float) -> float:
        """Reserve the first moment, not before ``now``, at least ``interval`` seconds after the previous
        reservation of ``key`` (by any process on this database); return it (seconds since the epoch).

        Atomic across processes: how bot processes take turns at something Discord rate-limits
        globally, such as IDENTIFY.
        """
        ...

    async def is_writable(self) -> bool:
        """Whether a write transaction can be opened right now (health checks)."""
        ...

    async def close(self) -> None: ...
