"""A small scheduler for the tracker: run a (step, task) when it is due, with per-step concurrency.

One loop keeps a heap of due jobs; each due job runs as its own asyncio task under its step's
semaphore, so a thousand tasks waiting to be polled cost a heap entry each, not a sleeping
coroutine each. Scheduling a step again for the same task supersedes the earlier schedule. A step
runs for a task once at a time: one that falls due while the same step of that task still runs
waits for it to end (it may read the task before the running one has written it), then runs.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot.lifecycle.foreground import Foreground
from bot.logs import log_context
from bot.storage import DatabaseAway

log = logging.getLogger(__name__)

Handler = Callable[[int], Awaitable[None]]


class Step(enum.StrEnum):
    """What the tracker can schedule for a task."""

    SUBMIT = "submit"
    POLL = "poll"
    RECONCILE = "reconcile"
    DELIVER = "deliver"
    REQUEUE = "requeue"  # back in line after EggAPI was busy
    POSITIONS = "positions"  # tell queued members their place (for the whole line: ``WHOLE_LINE``)


WHOLE_LINE = 0  # the task id of steps about the line rather than one task

S = TypeVar("S", bound=str)  # the step vocabulary: ``Step`` for the tracker


@dataclass(order=True, slots=True)
class _Job(Generic[S]):
    due: float
    seq: int
    step: S = field(compare=False)
    task_id: int = field(compare=False)


class Scheduler(Generic[S]):
    """Runs ``handlers[step](task_id)`` when due; a crashing step is logged and retried after ``retry_delay``."""

    def __init__(
        self,
        handlers: Mapping[S, Handler],
        limits: Mapping[S, int],
        *,
        retry_delay: float,
        skip_when_closing: Collection[S] = (),
        after: Callable[[S, int], None] | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self._handlers = dict(handlers)
        self._slots = {step: asyncio.Semaphore(limits.get(step, 1)) for step in self._handlers}
        self._retry_delay = retry_delay
        self._skip_when_closing = frozenset(skip_when_closing)
        self._after = after
        self._foreground = foreground or Foreground()
        self._heap: list[_Job[S]] = []
        self._latest: dict[tuple[S, int], int] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._busy: set[tuple[S, int]] = set()  # (step, task) running now
        self._held: set[tuple[S, int]] = set()  # fell due meanwhile: run once the running one ends
        self.closing = False

    @property
    def alive(self) -> bool:
        """Whether the loop is running."""
        return self._loop_task is not None and not self._loop_task.done()

    @property
    def in_flight(self) -> int:
        """Jobs waiting to be due (or for the same step of their task to end) plus jobs running."""
        return len(self._latest) + len(self._held) + len(self._running)

    def is_scheduled(self, step: S, task_id: int) -> bool:
        """Whether the step is waiting to run for this task."""
        return (step, task_id) in self._latest or (step, task_id) in self._held

    def schedule(self, step: S, task_id: int, delay: float = 0.0) -> None:
        """Run the step for the task after ``delay`` seconds (replacing a pending schedule of it)."""
        if self.closing:
            return
        job = _Job(asyncio.get_running_loop().time() + delay, next(self._seq), step, task_id)
        self._latest[(step, task_id)] = job.seq
        heapq.heappush(self._heap, job)
        self._wake.set()

    def start(self) -> None:
        """Start the loop."""
        self._loop_task = asyncio.create_task(self._run(), name="eggbot-scheduler")

    async def close(self, grace: float) -> None:
        """Take no more work; let running jobs finish for up to ``grace`` seconds, then cancel them."""
        self.closing = True
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=grace)
            for job in pending:
                job.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.closing:
            self._wake.clear()
            now = loop.time()
            while self._heap and self._heap[0].due <= now:
                job = heapq.heappop(self._heap)
                if self._latest.get((job.step, job.task_id)) != job.seq:
                    continue  # superseded by a later schedule of the same step
                del self._latest[(job.step, job.task_id)]
                if (job.step, job.task_id) in self._busy:
                    self._held.add((job.step, job.task_id))
                    continue
                self._busy.add((job.step, job.task_id))
                running = asyncio.create_task(self._run_job(job), name=f"eggbot-{job.step}-{job.task_id}")
                self._running.add(running)
                running.add_done_callback(self._running.discard)
            timeout = self._heap[0].due - now if self._heap else None
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def _run_job(self, job: _Job[S]) -> None:
        key = (job.step, job.task_id)
        try:
            with log_context(task_id=job.task_id or None):  # 0 is WHOLE_LINE, no task: every record names the task
                await self._run_job_in_context(job)
        finally:
            self._busy.discard(key)
            if key in self._held:
                self._held.discard(key)
                if key not in self._latest:  # else a newer schedule of it stands
                    self.schedule(job.step, job.task_id)

    async def _run_job_in_context(self, job: _Job[S]) -> None:
        async with self._slots[job.step]:
            try:
                await self._foreground.turn()  # members being answered go first
                if self.closing and job.step in self._skip_when_closing:
                    return
                await self._handlers[job.step](job.task_id)
            except asyncio.CancelledError:
                raise
            except DatabaseAway as exc:  # the database's outage, said once by its own warnings: not a bug here
                log.warning("task %s: %s step: %s; retrying later", job.task_id, job.step, exc)
                self.schedule(job.step, job.task_id, self._retry_delay)
            except Exception:
                log.exception("task %s: %s step crashed; retrying later", job.task_id, job.step)
                self.schedule(job.step, job.task_id, self._retry_delay)
            finally:
                if self._after is not None:
                    self._after(job.step, job.task_id)
