"""What the tracker does with a webhook: poll the task it names now, or keep it for whoever awaits it.

Carved out of ``tracker``. A webhook may name a task this process follows (polled at once), one
another process follows (kept in the database for that one: ``Leases.pass_hint``), or an id no
task has yet: its submit's answer is still on its way, or was lost. Such ids are remembered here,
a few hundred at most, only while a submit awaits its answer; the submit step asks for its id
when the answer comes (``came_early``), and unconfirmed submits are reconciled at once.
"""

from __future__ import annotations

from collections import OrderedDict

from bot.lifecycle._following import Follower, Schedule
from bot.lifecycle._steps import Step
from bot.lifecycle.leases import Leases
from bot.lifecycle.model import TaskStatus
from bot.lifecycle.task_store import TaskStore

EARLY_HINTS_MAX = 256  # webhook ids remembered while submits await their answer


class WebhookHints:
    """Webhooks turned into polls, passed to the process that follows the task, or kept for an answer."""

    def __init__(self, store: TaskStore, leases: Leases, following: Follower, schedule: Schedule) -> None:
        self._store = store
        self._leases = leases
        self._following = following
        self._schedule = schedule
        self._early: OrderedDict[str, None] = OrderedDict()  # webhooks that beat the POST's answer

    @property
    def remembered(self) -> int:
        """How many webhook ids that match no task of ours are kept."""
        return len(self._early)

    def came_early(self, egg_task_id: str) -> bool:
        """Whether a webhook named this EggAPI task before its submit's answer came (forgotten now)."""
        if egg_task_id not in self._early:
            return False
        self._early.pop(egg_task_id, None)
        return True

    async def hint(self, egg_task_id: str) -> bool:
        """A webhook says this EggAPI task changed: poll it now (the payload itself is not trusted).

        Hints may be forged when no webhook secret is set, so they are bounded: a running task is
        polled at once for its first hint, then at most once per ``hint_cooldown``; ids nobody
        knows are kept (a few hundred at most) only while a submit of ours awaits its answer.
        """
        task, waiting = await self._store.for_webhook(egg_task_id)
        if task is not None and task.status is TaskStatus.RUNNING:
            if self._leases.holds(task.id):
                self._following.hinted(task.id)
            else:  # another process follows it: kept for that one, which polls it at its next look
                await self._leases.pass_hint(egg_task_id)
            return True
        if task is None:
            if not waiting or egg_task_id in self._early:
                return False  # nobody is waiting for an answer: an unknown id is nothing of ours
            if any(not self._leases.holds(unconfirmed.id) for unconfirmed in waiting):
                await self._leases.pass_hint(egg_task_id)  # another process may be awaiting this answer
            # Faster than the POST's answer, or the answer was lost: remember it, and look again now.
            self._early[egg_task_id] = None
            while len(self._early) > EARLY_HINTS_MAX:
                self._early.popitem(last=False)
            for unconfirmed in waiting:
                if unconfirmed.status is TaskStatus.UNKNOWN and self._leases.holds(unconfirmed.id):
                    self._schedule(Step.RECONCILE, unconfirmed.id, 0.0)
        return False
