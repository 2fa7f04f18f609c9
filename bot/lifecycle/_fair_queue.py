"""Fair dispatch of queued jobs: round-robin across members, with per-member and global caps.

A pure data structure (no I/O, no clock): the tracker pushes queued tasks, pops the next one
to submit whenever it has room, and reports when a task stops running. One member with ten
jobs waiting cannot starve nine members with one job each.

Its caps count this process's tasks only; with several processes the database's count decides
at the submit (``Bookkeeper.begin_submit``). A task it popped that the database then found no
room for is ``put_back`` (first in line again), and a member whose other processes' tasks fill
their own cap is ``paused`` until ``resume``. When the database says whose turn it is across
processes (``Yield``), that member is served next (``prefer``).

A member's own tasks wait in the order the member asked for them (``asked``, the task's
``TaskRecord.asked``), not in the order they were pushed: a member's jobs handled at once are
recorded and acknowledged in whatever order their database round trips end, and resumed or taken
over tasks come back in the order of the database's rows.
"""

from __future__ import annotations

import bisect
from collections import deque

Asked = tuple[int, int]
"""Where a task stands among its member's others (``TaskRecord.asked``): smaller goes first."""


class FairQueue:
    """Queued task ids per member, served round-robin under running caps."""

    def __init__(self, *, max_running_per_member: int, max_running_total: int) -> None:
        self._per_member = max_running_per_member
        self._total = max_running_total
        self._queues: dict[int, deque[int]] = {}
        self._turns: deque[int] = deque()  # members with queued work, next to serve first
        self._running: dict[int, set[int]] = {}
        self._owner: dict[int, int] = {}
        self._asked: dict[int, Asked] = {}  # queued or running tasks' order among their member's
        self._paused: set[int] = set()  # members skipped until ``resume``

    def push(self, task_id: int, member_id: int, asked: Asked | None = None) -> None:
        """Queue a task among the member's other queued tasks, in the order asked (no-op if already known).

        ``asked``: its order among the member's tasks (by default its id: the order it was recorded).
        """
        if task_id in self._owner:
            return
        self._owner[task_id] = member_id
        self._asked[task_id] = (0, task_id) if asked is None else asked
        queue = self._queues.setdefault(member_id, deque())
        if not queue:
            self._turns.append(member_id)
        self._line_up(queue, task_id)

    def _line_up(self, queue: deque[int], task_id: int) -> None:
        """Put a task in its member's queue behind those asked before it, ahead of those asked after."""
        bisect.insort(queue, task_id, key=self._asked.__getitem__)

    def mark_running(self, task_id: int, member_id: int) -> None:
        """Count a task already running upstream (resumed after a restart) against the caps."""
        self._owner[task_id] = member_id
        self._running.setdefault(member_id, set()).add(task_id)

    def remove(self, task_id: int) -> None:
        """Forget a task wherever it is (cancelled while queued, or finished running)."""
        member = self._owner.pop(task_id, None)
        self._asked.pop(task_id, None)
        if member is None:
            return
        queue = self._queues.get(member)
        if queue is not None and task_id in queue:
            queue.remove(task_id)
            if not queue:
                del self._queues[member]
                self._turns.remove(member)
        running = self._running.get(member)
        if running is not None:
            running.discard(task_id)
            if not running:
                del self._running[member]

    def put_back(self, task_id: int, *, first: bool) -> None:
        """A popped task that could not start after all: in its member's line again (first, unless one
        asked before it was queued meanwhile), not running.

        ``first``: its member's turn comes first, too (it was theirs when room ran out for everyone).
        """
        member = self._owner.get(task_id)
        if member is None:
            return
        running = self._running.get(member)
        if running is not None:
            running.discard(task_id)
            if not running:
                del self._running[member]
        queue = self._queues.setdefault(member, deque())
        if queue:
            if first:
                self._turns.remove(member)
                self._turns.appendleft(member)
        elif first:
            self._turns.appendleft(member)
        else:
            self._turns.append(member)
        self._asked.setdefault(task_id, (0, task_id))
        self._line_up(queue, task_id)

    def member_of(self, task_id: int) -> int | None:
        """The member whose task this is, while it is queued or running here."""
        return self._owner.get(task_id)

    def pause(self, member_id: int) -> None:
        """Skip the member's queued tasks until ``resume`` (their cap is full elsewhere)."""
        self._paused.add(member_id)

    def prefer(self, member_id: int) -> bool:
        """Serve this member next; False if none of their tasks may start here now (none queued, paused, at cap)."""
        if member_id not in self._queues or member_id in self._paused:
            return False
        if self.running_count(member_id) >= self._per_member:
            return False
        self._turns.remove(member_id)
        self._turns.appendleft(member_id)
        return True

    def resume(self) -> bool:
        """Serve every paused member again; whether any was paused."""
        paused = bool(self._paused)
        self._paused.clear()
        return paused

    @property
    def running_total(self) -> int:
        """Tasks counted as running upstream."""
        return sum(len(tasks) for tasks in self._running.values())

    def running_count(self, member_id: int) -> int:
        """How many of the member's tasks are running."""
        return len(self._running.get(member_id, ()))

    def queued_count(self, member_id: int) -> int:
        """How many of the member's tasks are waiting."""
        return len(self._queues.get(member_id, ()))

    def pop_ready(self) -> int | None:
        """The next task to submit, marked running; None when nothing may start now."""
        if self.running_total >= self._total:
            return None
        for _ in range(len(self._turns)):
            member = self._turns[0]
            self._turns.rotate(-1)
            if member in self._paused or self.running_count(member) >= self._per_member:
                continue
            queue = self._queues[member]
            task_id = queue.popleft()
            if not queue:
                del self._queues[member]
                self._turns.remove(member)
            self._running.setdefault(member, set()).add(task_id)
            return task_id
        return None

    def order(self) -> list[int]:
        """Every queued task in the order it would be served if nothing else changed."""
        queues = {member: list(queue) for member, queue in self._queues.items()}
        order: list[int] = []
        while queues:
            for member in list(self._turns):
                if member in queues:
                    order.append(queues[member].pop(0))
                    if not queues[member]:
                        del queues[member]
        return order

    def position(self, task_id: int) -> int | None:
        """1-based place in line of a queued task, or None if it is not waiting."""
        try:
            return self.order().index(task_id) + 1
        except ValueError:
            return None
