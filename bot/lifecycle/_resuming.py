"""The tracker's steps as one of several processes: run only for tasks held, resumed where they stopped.

Carved out of ``tracker``. A step runs only while this process holds the task's lease
(``only_while_held``), so a task another process took over is left to that one; a task this
process takes (at its start, or over from a process whose lease lapsed) picks up at the step its
recorded state calls for (``RESUME_AT``), exactly as after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.lifecycle._steps import Step
from bot.lifecycle.leases import Leases
from bot.lifecycle.model import TERMINAL, TaskStatus
from bot.lifecycle.task_store import TaskStore

log = logging.getLogger(__name__)

TaskStep = Callable[[int], Awaitable[None]]

RESUME_AT = {
    TaskStatus.SUBMITTING: Step.RECONCILE,  # crashed mid-POST: never resubmit blindly
    TaskStatus.UNKNOWN: Step.RECONCILE,
    TaskStatus.RUNNING: Step.POLL,
    TaskStatus.COMPLETED: Step.DELIVER,
    TaskStatus.DELIVERING: Step.DELIVER,  # the nonce makes a repeated post a no-op
}
"""The step a taken task resumes at, by its recorded state (a queued one rejoins the line instead)."""


def only_while_held(leases: Leases, store: TaskStore, step: TaskStep, *, ended_too: bool = False) -> TaskStep:
    """``step``, run only while this process holds the task's lease (else another process follows it).

    ``ended_too``: also for a task that has ended, which has no lease to hold (an unconfirmed submit
    the operator released: whichever process sees it first tells the member, once).
    """

    async def run(task_id: int) -> None:
        if leases.holds(task_id):
            await step(task_id)
            return
        if ended_too:
            task = await store.get(task_id)
            if task is not None and task.status in TERMINAL:
                await step(task_id)
                return
        log.debug("task %s: its lease is not ours (any more); left to the process that holds it", task_id)

    return run
