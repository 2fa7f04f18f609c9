"""SQL for what the queue decides on (``TaskRepository``), PostgreSQL dialect: counts that lock what they count,
and whose turn it is across processes (read under the running caps' lock its caller holds)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.lifecycle.model import TaskStatus
from bot.storage.sharing import WaitingMember

from ._task_rows import TaskSql, values

log = logging.getLogger(__name__)

_QUEUE_LOCK = "queue"
_RUNNING_LOCK = "running"
_LIVE = "status = 'queued' AND lease_owner IS NOT NULL AND lease_until > clock_timestamp()"  # waiting in a line
# The members waiting in any line, fairest first: fewest running, longest since served, oldest waiting task.
_TURNS = f"""
WITH waiting AS (
    SELECT member_id, MIN(id) AS first_id, bool_or(lease_owner = $1) AS owned FROM tasks WHERE {_LIVE}
    GROUP BY member_id
), running AS (
    SELECT member_id, COUNT(*) AS n FROM tasks WHERE status = ANY($2::text[]) GROUP BY member_id
), served AS (
    SELECT member_id, MAX(submitted_at) AS last FROM tasks
    WHERE id > (SELECT COALESCE(MAX(id), 0) FROM tasks) - $5 AND member_id IN (SELECT member_id FROM waiting)
    GROUP BY member_id
)
SELECT w.member_id, w.owned FROM waiting AS w
    LEFT JOIN running AS r USING (member_id) LEFT JOIN served AS s USING (member_id)
WHERE COALESCE(r.n, 0) < $3
ORDER BY COALESCE(r.n, 0), s.last NULLS FIRST, w.first_id
LIMIT $4
"""


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

    def fair_turns(
        self, owner: str, running: Iterable[TaskStatus], *, per_member: int, limit: int, recent: int
    ) -> list[WaitingMember]:
        # One process alone (the usual case) pays for this look only: nobody else's task waits.
        if not self._db.fetchval(f"SELECT EXISTS (SELECT 1 FROM tasks WHERE {_LIVE} AND lease_owner <> $1)", owner):
            return []
        rows = self._db.fetch(_TURNS, owner, values(running), per_member, limit, recent)
        return [WaitingMember(int(row["member_id"]), bool(row["owned"])) for row in rows]
