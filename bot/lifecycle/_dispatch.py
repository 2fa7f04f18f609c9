"""The line of queued tasks: fair turns, submit slots, and each waiting member's place in line.

Wraps the pure ``FairQueue`` with what the tracker needs around it: submit jobs are scheduled
while there is a free slot, a task leaves the line when it stops running (told by the task
store's listener), and queued members' status messages show their place, coalesced. While
EggAPI is busy (``busy()``), they say so instead, and so do jobs whose submit is waiting for it.

With several bot processes each keeps its own line, in fair turns among its own members; the
running caps are counted in the database at each submit, for all processes together, and so are
the turns: when the caps leave fewer places than there are members waiting in all the lines, a
task starts only if its member is among the fairest waiting anywhere (fewest running, then the
longest since last served: ``Bookkeeper.begin_submit``). Otherwise the database answers ``Yield``:
to one of this process's members whose turn it is (served next, ``FairQueue.prefer``), or to other
processes' members, and then the line waits, exactly as when the count leaves no room (``FULL``),
until a task of this process ends or the next look at the leases (``retry``, every
``EGGBOT_LEASE_CHECK_INTERVAL``). The process whose member's turn it is takes the place at its
own next look, so a freed place waits at most one check interval. Only live leases count, so a
dead or hung process's queued tasks hold nothing up once their leases lapse (and another process
takes them over). The caps hold exactly; no member ever runs more than their own cap in all
processes together. One process alone never yields: its line is the whole line.

A member's place in line is this process's line (``FairQueue.order``) plus the members waiting in
other processes whose turn came first at this process's last refused start (``ahead``; 0 again once
one of its tasks starts): how many turns come before theirs, as far as this process knows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.lifecycle._fair_queue import Asked, FairQueue
from bot.lifecycle._steps import WHOLE_LINE, Scheduler, Step
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.ports import Phase
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Start, Yield

log = logging.getLogger(__name__)

MAX_POSITION_UPDATES = 25  # queued members beyond this are told their place when they move up
IN_LINE = frozenset({TaskStatus.QUEUED, TaskStatus.SUBMITTING, TaskStatus.RUNNING, TaskStatus.UNKNOWN})

Show = Callable[[TaskRecord, Phase, str | None, bool], Awaitable[None]]
"""Show a task's phase, with its place in line (or None) and whether EggAPI is busy."""


class Dispatcher:
    """Decides which queued task is submitted next."""

    def __init__(
        self,
        store: TaskStore,
        jobs: Scheduler[Step],
        show: Show,
        *,
        max_submits: int,
        max_running_per_member: int,
        max_running_total: int,
        position_interval: float,
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self._store = store
        self._jobs = jobs
        self._show = show
        self._max_submits = max_submits
        self._position_interval = position_interval
        self._line = FairQueue(max_running_per_member=max_running_per_member, max_running_total=max_running_total)
        self._busy = busy
        self._submitting: set[int] = set()
        self._shown: dict[int, tuple[Phase, int | None, bool]] = {}  # what each waiting member was last shown
        self._full = False  # the database's count left no room for anyone: wait for a task to end
        self._preferred = False  # a member was served next on the database's word; once per look
        self._ahead = 0  # members waiting in other processes whose turns come first (at the last yield)

    def push(self, task_id: int, member_id: int, asked: Asked | None = None) -> None:
        """Queue a task (new, resumed, or back after EggAPI was busy) and start what may start.

        ``asked``: its order among its member's tasks (``TaskRecord.asked``).
        """
        self._line.push(task_id, member_id, asked)
        self.pump()

    def mark_running(self, task_id: int, member_id: int) -> None:
        """Count a resumed task that is already upstream against the caps."""
        self._line.mark_running(task_id, member_id)

    def step_back(self, task_id: int) -> None:
        """A submit was refused for now: the task no longer counts as running."""
        self._line.remove(task_id)

    def drop(self, task_id: int) -> None:
        """Forget a task: another process follows it now, or it ended there."""
        self._line.remove(task_id)
        self._shown.pop(task_id, None)

    def not_started(self, task_id: int, start: Start | Yield) -> None:
        """A popped task the database did not let start: back at the head of the line, or out if gone."""
        if start is Start.GONE:
            self.drop(task_id)
            return
        full = start is Start.FULL or isinstance(start, Yield)
        self._line.put_back(task_id, first=full)
        member = self._line.member_of(task_id)
        if isinstance(start, Yield):
            self._ahead = start.ahead
            if start.turn is not None and not self._preferred and self._line.prefer(start.turn):
                self._preferred = True  # its turn, counting every process: served now, at most once a look
                full = False
        if full:
            self._full = True
        elif member is not None and not isinstance(start, Yield):
            self._line.pause(member)
        why = start.value if isinstance(start, Start) else f"other members' turn first, {start.ahead} elsewhere"
        log.debug("task %s: not started (%s); it waits at the head of the line", task_id, why)

    def retry(self) -> None:
        """Ask the database again for room (a task of another process may have ended)."""
        self._preferred = False
        if self._line.resume() or self._full:
            self._full = False
            self.pump()

    def pump(self) -> None:
        """Schedule as many submits as the caps allow, in round-robin order across members."""
        while not self._jobs.closing and not self._full and len(self._submitting) < self._max_submits:
            task_id = self._line.pop_ready()
            if task_id is None:
                break
            self._submitting.add(task_id)
            self._jobs.schedule(Step.SUBMIT, task_id)
        if self._line.order() and not self._jobs.is_scheduled(Step.POSITIONS, WHOLE_LINE):
            self._jobs.schedule(Step.POSITIONS, WHOLE_LINE, self._position_interval)

    def refresh(self) -> None:
        """Show the line again soon (EggAPI turned busy, or calm): each message changes only if its text does."""
        if not self._jobs.closing:
            self._jobs.schedule(Step.POSITIONS, WHOLE_LINE, 0.0)

    def after_step(self, step: Step, task_id: int) -> None:
        """A submit step ended: its slot is free again."""
        if step is Step.SUBMIT:
            self._submitting.discard(task_id)
            self.pump()

    def on_change(self, task_id: int, new: TaskStatus) -> None:
        """A task changed state: it leaves the line once it is no longer queued or running upstream."""
        if new is TaskStatus.SUBMITTING and task_id in self._submitting:
            self._ahead = 0  # one of ours started: this process holds a turn now
        if new in IN_LINE:
            return
        self._line.remove(task_id)
        self._shown.pop(task_id, None)
        if new is not TaskStatus.CANCELLED:  # it ran upstream: room for another, here or anywhere
            self._full = self._preferred = False
            self._line.resume()
        if self._jobs.alive:
            self.pump()

    async def show_positions(self, _: int = 0) -> None:
        """Tell queued members their place in line (coalesced, at most every interval), and whether EggAPI is busy.

        A submit waiting on a busy EggAPI says so too, and stops saying it once EggAPI is calm.
        """
        busy = self._busy()
        for position, task_id in enumerate(self._line.order()[:MAX_POSITION_UPDATES], start=1):
            await self._show_if_changed(task_id, TaskStatus.QUEUED, (Phase.QUEUED, position + self._ahead, busy))
        for task_id in sorted(self._submitting):
            if busy or self._shown.get(task_id, (None, None, False))[2]:
                await self._show_if_changed(task_id, TaskStatus.SUBMITTING, (Phase.SUBMITTING, None, busy))

    async def _show_if_changed(self, task_id: int, status: TaskStatus, look: tuple[Phase, int | None, bool]) -> None:
        if self._shown.get(task_id) == look:
            return
        task = await self._store.get(task_id)
        if task is None or task.status is not status:
            return
        self._shown[task_id] = look
        phase, position, busy = look
        await self._show(task, phase, None if position is None else str(position), busy)

    async def rejoin(self, task_id: int) -> None:
        """Put a task that waited out EggAPI's refusal back in line."""
        task = await self._store.get(task_id)
        if task is not None and task.status is TaskStatus.QUEUED:
            self.push(task.id, task.member_id, task.asked)
