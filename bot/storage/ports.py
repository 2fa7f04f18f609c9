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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .sharing import SharedTasks

if TYPE_CHECKING:
    from bot.ledger import Adjustment, AdjustmentKind, Hold, HoldState, MemberSpend
    from bot.lifecycle.model import ImagineRequest, TaskRecord, TaskStatus
    from bot.reports import TaskLine

log = logging.getLogger(__name__)

T = TypeVar("T")

JsonValue = Any
"""What a guild setting holds: None, bool, int, float, str, lists and string-keyed dicts of them."""

TASK_FIELDS = frozenset(
    {
        "egg_task_id",
        "upstream_status",
        "cost",
        "error",
        "output_urls",
        "reference_urls",
        "status_message_id",
        "result_message_ids",
        "submitted_at",
        "finished_at",
        "delivered_at",
        "hidden",
        "stale_at",
    }
)
"""The task fields a change may set besides its status (``TaskRecord`` names); others are refused."""


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
class GuildOverrides:
    """A guild's stored quota settings; None = not set (the ledger's defaults apply)."""

    member_limit: Decimal | None
    period: str | None
    timezone: str | None
    server_cap: Decimal | None
    paused: bool


@dataclass(frozen=True, slots=True)
class HoldTotals:
    """One guild's all-time holds that count: settled costs, active holds and how many are active."""

    settled: Decimal
    reserved: Decimal
    active: int


class TaskRepository(SharedTasks, Protocol):
    """The tasks and the record of their posted images (and what processes sharing them ask: ``sharing``)."""

    def insert(self, req: ImagineRequest, status: TaskStatus, now: datetime) -> TaskRecord:
        """Record a new task and return it as stored (with its id)."""
        ...

    def get(self, task_id: int) -> TaskRecord | None: ...

    def get_by_egg_id(self, egg_task_id: str) -> TaskRecord | None: ...

    def count_in_state(self, member_id: int, status: TaskStatus) -> int:
        """How many of the member's tasks are in ``status`` (in a change: locked until commit, for the queue cap)."""
        ...

    def ids_by_interaction(self, interaction_id: int, status: TaskStatus) -> list[int]: ...

    def count_by_status(self) -> dict[TaskStatus, int]:
        """How many tasks are in each status (statuses with none are left out); for metrics."""
        ...

    def list_in_states(self, states: Iterable[TaskStatus]) -> list[TaskRecord]:
        """Every task in one of ``states``, oldest first."""
        ...

    def list_with_status_message(self, status: TaskStatus, delivered_since: datetime) -> list[TaskRecord]:
        """Tasks in ``status``, delivered since then, whose status message is recorded as still there, oldest first."""
        ...

    def list_not_in_states(self, states: Iterable[TaskStatus]) -> list[TaskRecord]:
        """Every task in none of ``states``, oldest first."""
        ...

    def list_with_error(self, status: TaskStatus, error: str) -> list[TaskRecord]: ...

    def list_by_delivery_nonce(self, nonce: str) -> list[TaskRecord]:
        """The tasks sharing a delivery nonce, first task first."""
        ...

    def move(
        self,
        task_id: int,
        expected: Sequence[TaskStatus],
        new: TaskStatus,
        now: datetime,
        changes: Mapping[str, Any],
        *,
        owner: str | None = None,
    ) -> bool:
        """Set the status (and ``changes``, keys from ``TASK_FIELDS``) only while in ``expected``.

        With ``owner``, only while that process holds the task's lease too (a fenced write).
        """
        ...

    def update(self, task_id: int, now: datetime, changes: Mapping[str, Any]) -> None:
        """Set fields other than the status (keys from ``TASK_FIELDS``)."""
        ...

    def hide(self, task_id: int, states: Iterable[TaskStatus], now: datetime) -> bool:
        """Mark hidden and forget the status message, only while in one of ``states``."""
        ...

    def replace_error(self, task_id: int, status: TaskStatus, old: str, new: str, now: datetime) -> bool:
        """Change the error only while the task is in ``status`` with error ``old``."""
        ...

    def reroute(self, task_id: int, *, status: TaskStatus, hidden: bool, reason: str, now: datetime) -> bool:
        """Once (while not rerouted yet and in ``status``): switch destination, forget posted images."""
        ...

    def bind_delivery_nonce(self, task_ids: Sequence[int], nonce: str) -> None: ...

    def posted_images(self, task_id: int) -> dict[int, int]:
        """Output index -> id of the message that carries it."""
        ...

    def record_posted(self, task_id: int, message_id: int, indexes: Iterable[int]) -> None: ...

    def count_running(self, member_id: int, states: Iterable[TaskStatus]) -> tuple[int, int]:
        """(every task, the member's tasks) in ``states``; in a change: locked until commit, for the running caps."""
        ...

    def member_tasks(self, guild_id: int | None, member_id: int) -> list[TaskRecord]:
        """Every task of one member in one guild (None: DMs), oldest first."""
        ...

    def member_page(
        self, guild_id: int | None, member_id: int, *, before: int | None, after: int | None, limit: int
    ) -> list[TaskRecord]:
        """Up to ``limit`` of a member's tasks in one guild, newest first: the newest ones with ids below
        ``before`` (all when None), or, with ``after``, the oldest ones with ids above it."""
        ...

    def count_member(self, guild_id: int | None, member_id: int, *, above: int | None = None) -> int:
        """How many tasks the member has in one guild (only those with ids above ``above``, when given)."""
        ...

    def erase_member_tasks(
        self, guild_id: int | None, member_id: int, states: Iterable[TaskStatus], placeholder: str, now: datetime
    ) -> int:
        """Forget what a member wrote and where it was posted, in their tasks in ``states`` of one guild.

        The prompt becomes ``placeholder``; the negative prompt, reference links, status and result
        message ids and posted images go; output links become empty strings (their number stays, as
        reports count images by it). Money, status and times stay. Returns how many tasks changed.
        """
        ...


class LedgerRepository(Protocol):
    """Quota holds, prices, the account total and per-guild quota policy (``DM_GUILD`` keys DMs).

    ``Ledger.reserve_in`` reads a member's and a guild's spend, decides, then inserts a hold: a
    backend whose writers run concurrently must make those reads lock what they count until commit
    (SQLite's ``BEGIN IMMEDIATE`` already serialises every writer), or holds can overdraw.
    """

    def hold(self, task_id: int) -> Hold | None: ...

    def insert_hold(
        self, *, task_id: int, key: int, member_id: int, period_start: datetime, reserved: Decimal, now: datetime
    ) -> None:
        """Insert an active hold; a second hold of a task raises the backend's integrity error."""
        ...

    def close_hold(
        self, task_id: int, state: HoldState, cost: Decimal, now: datetime, *, estimated: bool = False
    ) -> bool:
        """Move an active hold to ``state`` with its final cost; False if it is not active (or absent)."""
        ...

    def member_spend(self, key: int, member_id: int, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        """(settled, active holds) of a member's holds whose period starts in [start, end)."""
        ...

    def guild_spend(self, key: int, start: datetime, end: datetime) -> Decimal:
        """Settled plus active holds of a guild's holds whose period starts in [start, end)."""
        ...

    def active_total(self) -> Decimal:
        """Every active hold, any guild, any period."""
        ...

    def settled_total(self) -> Decimal:
        """Every settled cost, any guild, any period (what EggAPI charged for the bot's jobs); for metrics."""
        ...

    def settled_since_summary(self) -> Decimal:
        """Costs settled after the last stored usage summary (all of them before the first)."""
        ...

    def spend_by_member(self, key: int, start: datetime, end: datetime) -> list[MemberSpend]:
        """Per-member spend of holds created in [start, end), in no particular order."""
        ...

    def insert_adjustment(
        self,
        *,
        key: int,
        member_id: int,
        kind: AdjustmentKind,
        amount: Decimal,
        moderator_id: int,
        period_start: datetime,
        now: datetime,
    ) -> Adjustment:
        """Record a moderator's top-up or reset of one member's budget; return it as stored."""
        ...

    def member_adjustments(self, key: int, member_id: int, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        """(topped up, forgiven) of a member's adjustments whose period starts in [start, end)."""
        ...

    def adjustments(
        self, key: int, *, member_id: int | None, start: datetime | None, end: datetime | None
    ) -> list[Adjustment]:
        """A guild's adjustments (one member's, or everyone's) made in [start, end), newest first."""
        ...

    def summary_price(self, model: str) -> Decimal | None: ...

    def recent_task_prices(self, model: str) -> list[Decimal]: ...

    def learn_task_price(self, task_id: int, model: str, price: Decimal, now: datetime, keep: int) -> None:
        """Remember one task's price per image; only the newest ``keep`` of a model are kept."""
        ...

    def usage_cost(self) -> Decimal | None:
        """The account total of the last usage summary, or None before the first."""
        ...

    def store_usage(self, prices: Mapping[str, Decimal], usage_cost: Decimal, now: datetime) -> None: ...

    def guild_overrides(self, key: int) -> GuildOverrides | None: ...

    def role_overrides(self, key: int) -> tuple[dict[int, Decimal], frozenset[int]]:
        """The guild's per-role member limits and its exempt roles."""
        ...

    def member_limit(self, key: int, member_id: int) -> Decimal | None: ...

    def member_limits(self, key: int) -> dict[int, Decimal]: ...

    def set_guild(self, key: int, now: datetime, **columns: str | int | None) -> None:
        """Set some of ``member_limit``, ``period``, ``timezone``, ``server_cap``, ``paused`` (None = unset)."""
        ...

    def set_role(self, key: int, role_id: int, now: datetime, column: str, value: str | int | None) -> None:
        """Set a role's ``member_limit`` or ``exempt``; a role with neither is forgotten."""
        ...

    def set_member_limit(self, key: int, member_id: int, limit: Decimal | None, now: datetime) -> None: ...


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
