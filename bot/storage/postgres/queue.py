"""SQL for the counts the queue decides on (``TaskRepository``), PostgreSQL dialect: each locks what it counts."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.lifecycle.model import TaskStatus

from ._task_rows import TaskSql, values

log = logging.getLogger(__name__)

_QUEUE_LOCK = "queue"
_RUNNING_LOCK = "running"


class TaskQueue(TaskSql):
    """A member's queued tasks and the tasks running upstream, counted under the locks that make the caps hold."""

    __slots__ = ()

    def count_in_state(self, member_id: int, status: TaskStatus) -> int:
        # The queue cap is counted here and enforced by the insert that follows: lock the member's
        # queue first, so two requests at once cannot both see room for one more (READ COMMITTED).
        self._locks.take(_QUEUE_LOCK, member_id)
        value = self._db.fetchval(
            "SELECT COUNT(*) FROM tasks WHERE member_id = $1 AND status = $2", member_id, status.value
        )
        return int(value or 0)

    def count_running(self, member_id: int, states: Iterable[TaskStatus]) -> tuple[int, int]:
        # The running caps are counted here and enforced by the move to 'submitting' that follows:
        # one lock for every such move, in every process, so two at once cannot both see room.
        self._locks.take(_RUNNING_LOCK)
        row = self._db.fetchrow(
            "SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE member_id = $1) AS mine FROM tasks "
            "WHERE status = ANY($2::text[])",
            member_id,
            values(states),
        )
        assert row is not None
        return int(row["total"]), int(row["mine"])
