"""The tasks' repository Protocol (``Transaction.tasks``) and the fields a change may set.

Split from ``ports`` because it is the longest of the repositories; ``ports`` re-exports it, so
``bot.storage.ports`` and ``bot.storage`` stay the places to import it from. What processes sharing
the tasks ask of them (leases, kept webhooks, whose turn is next) is in ``sharing``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from .sharing import SharedTasks

if TYPE_CHECKING:
    from bot.lifecycle.model import ImagineRequest, TaskRecord, TaskStatus

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


def changed_columns(changes: Mapping[str, Any]) -> list[str]:
    """The changed columns, refused unless in ``TASK_FIELDS`` (their names go into both backends' SQL text)."""
    unknown = set(changes) - TASK_FIELDS
    if unknown:
        raise ValueError(f"cannot update columns {sorted(unknown)}")
    return list(changes)


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
