"""SQL for what the queue decides on (``TaskRepository``), SQLite dialect (one writer at a time): counts,
and whose turn it is across processes."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.clock import to_iso, utcnow
from bot.lifecycle.model import TaskStatus
from bot.storage.sharing import WaitingMember

from ._task_rows import TaskSql, marks

log = logging.getLogger(__name__)

_LIVE = "status = 'queued' AND lease_owner IS NOT NULL AND lease_until > ?"  # waiting in a line (? = now)


def _turns(states: int) -> str:
    """The members waiting in any line, fairest first: fewest running, longest since served, oldest waiting task."""
    return f"""
WITH waiting AS (
    SELECT member_id, MIN(id) AS first_id, MAX(lease_owner = ?) AS owned FROM tasks WHERE {_LIVE}
    GROUP BY member_id
), running AS (
    SELECT member_id, COUNT(*) AS n FROM tasks WHERE status IN ({",".join("?" * states)}) GROUP BY member_id
), served AS (
    SELECT member_id, MAX(submitted_at) AS last FROM tasks
    WHERE id > (SELECT COALESCE(MAX(id), 0) FROM tasks) - ? AND member_id IN (SELECT member_id FROM waiting)
    GROUP BY member_id
)
SELECT w.member_id, w.owned FROM waiting AS w
    LEFT JOIN running AS r USING (member_id) LEFT JOIN served AS s USING (member_id)
WHERE COALESCE(r.n, 0) < ?
ORDER BY COALESCE(r.n, 0), s.last IS NOT NULL, s.last, w.first_id
LIMIT ?
"""


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

    def fair_turns(
        self, owner: str, running: Iterable[TaskStatus], *, per_member: int, limit: int, recent: int
    ) -> list[WaitingMember]:
        now = to_iso(utcnow())
        # One process alone (the usual case) pays for this look only: nobody else's task waits.
        [others] = self._rows(f"SELECT EXISTS (SELECT 1 FROM tasks WHERE {_LIVE} AND lease_owner <> ?)", (now, owner))
        if not others[0]:
            return []
        wanted = [s.value for s in running]
        rows = self._rows(_turns(len(wanted)), [owner, now, *wanted, recent, per_member, limit])
        return [WaitingMember(int(row[0]), bool(row[1])) for row in rows]
