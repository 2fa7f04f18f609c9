"""SQL for the counts the queue decides on (``TaskRepository``), SQLite dialect (one writer at a time)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.lifecycle.model import TaskStatus

from ._task_rows import TaskSql, marks

log = logging.getLogger(__name__)


class TaskQueue(TaskSql):
    """A member's queued tasks and the tasks running upstream (``BEGIN IMMEDIATE`` keeps each count until commit)."""

    __slots__ = ()

    def count_in_state(self, member_id: int, status: TaskStatus) -> int:
        rows = self._rows("SELECT COUNT(*) FROM tasks WHERE member_id = ? AND status = ?", (member_id, status.value))
        return int(rows[0][0]) if rows else 0

    def count_running(self, member_id: int, states: Iterable[TaskStatus]) -> tuple[int, int]:
        wanted = [s.value for s in states]
        [row] = self._rows(
            f"SELECT COUNT(*), COALESCE(SUM(member_id = ?), 0) FROM tasks WHERE status IN ({marks(wanted)})",
            [member_id, *wanted],
        )
        return int(row[0]), int(row[1])
