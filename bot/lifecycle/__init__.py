"""A task's life, from /imagine to the images in the channel: the map for reading it.

In the order a task meets them:

- ``model``: ``ImagineRequest``, ``TaskRecord``, ``TaskStatus`` and the allowed ``TRANSITIONS``.
- ``intake``: ``JobService`` validates a request, runs the server's ``IntakeCheck``s, and records the
  task and its quota hold at once.
- ``transitions``: ``Bookkeeper``, the one writer of a task's status (and of its hold's end); its
  ``begin_submit`` counts the running caps in the database, for every process together, and yields
  a place to fairer members waiting in other processes' lines (``Yield``).
- ``leases``: ``Leases``, which bot process follows each unfinished task: granted with the task,
  renewed, taken over when it lapses, released at a clean stop; webhooks for another process's tasks.
- ``task_store``: ``TaskStore``, a task's reads and field updates, through the storage seam
  (``bot.storage``); its ``transition_in`` is called only by ``transitions``.
- ``tracker``: ``Tracker`` resumes, submits, follows, reconciles and hands over for delivery; its
  private helpers are ``_steps`` (the scheduler and its ``Step``s), ``_dispatch`` and
  ``_fair_queue`` (whose turn it is), ``_following`` (running tasks until they end), ``_sweep``
  (reads of EggAPI's task list that follow them all at once, checked as they go by ``_pages``), ``_polling``
  (when to ask for one task on its own), ``_sending`` (each task posted once, its answer kept until
  recorded), ``_reconcile`` (which EggAPI task an unconfirmed submit became) and ``_settling`` (the
  step that acts on it), ``_hints`` (what a webhook makes it do) and ``_resuming`` (steps only for
  tasks whose lease it holds; where a task taken up resumes).
- ``references``: whether the reference images' signed links are still good enough to send.
- ``remakes``: jobs made from an earlier job's result (Reroll, Vary, Edit, Again at 2k/4k, Remix),
  and ``Remakes``, which finds a result's images again with links that work now.
- ``outcomes``: endings without images, and what the member is told.
- ``delivery``: ``Deliverer`` downloads and posts exactly once; ``result_parts`` and ``fitting``
  cut a result into messages that fit.
- ``status_board``: status edits when something changes, coalesced and budgeted; ``_lanes``
  (``KeyedLanes``) runs one worker per destination for it, for delivery and for the mod-log.
- ``ports``: ``Publisher``, the one thing the chat side implements, and the ``Phase``s it shows.
- ``foreground``: background work yields while members are being answered.

Everything is built once in ``bot.services``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.lifecycle._lanes import KeyedLanes
    from bot.lifecycle._reconcile import Outcome, Reconciler, Verdict
    from bot.lifecycle._steps import Step
    from bot.lifecycle.delivery import Deliverer
    from bot.lifecycle.foreground import Foreground
    from bot.lifecycle.intake import Admission, DatabaseBusy, IntakeCheck, JobService
    from bot.lifecycle.leases import LeaseConfig, Leases
    from bot.lifecycle.model import ImagineRequest, TaskRecord, TaskStatus
    from bot.lifecycle.outcomes import RELEASED, Outcomes
    from bot.lifecycle.ports import DestinationGone, Phase, Progress, Publisher
    from bot.lifecycle.references import ReferenceCheck
    from bot.lifecycle.remakes import Asker, Remakes
    from bot.lifecycle.status_board import StatusBoard
    from bot.lifecycle.task_store import TaskStore
    from bot.lifecycle.tracker import Tracker, TrackerConfig
    from bot.lifecycle.transitions import Bookkeeper, RunningCaps, Start

# The storage layer imports ``model`` below this package: import the rest only when asked for.
_HOMES = {
    "Admission": "bot.lifecycle.intake",
    "Asker": "bot.lifecycle.remakes",
    "Bookkeeper": "bot.lifecycle.transitions",
    "DatabaseBusy": "bot.lifecycle.intake",
    "Deliverer": "bot.lifecycle.delivery",
    "DestinationGone": "bot.lifecycle.ports",
    "Foreground": "bot.lifecycle.foreground",
    "ImagineRequest": "bot.lifecycle.model",
    "IntakeCheck": "bot.lifecycle.intake",
    "JobService": "bot.lifecycle.intake",
    "KeyedLanes": "bot.lifecycle._lanes",
    "LeaseConfig": "bot.lifecycle.leases",
    "Leases": "bot.lifecycle.leases",
    "Outcome": "bot.lifecycle._reconcile",
    "Outcomes": "bot.lifecycle.outcomes",
    "Phase": "bot.lifecycle.ports",
    "Progress": "bot.lifecycle.ports",
    "Publisher": "bot.lifecycle.ports",
    "RELEASED": "bot.lifecycle.outcomes",
    "Reconciler": "bot.lifecycle._reconcile",
    "ReferenceCheck": "bot.lifecycle.references",
    "Remakes": "bot.lifecycle.remakes",
    "RunningCaps": "bot.lifecycle.transitions",
    "Start": "bot.lifecycle.transitions",
    "StatusBoard": "bot.lifecycle.status_board",
    "Step": "bot.lifecycle._steps",
    "TaskRecord": "bot.lifecycle.model",
    "TaskStatus": "bot.lifecycle.model",
    "TaskStore": "bot.lifecycle.task_store",
    "Tracker": "bot.lifecycle.tracker",
    "TrackerConfig": "bot.lifecycle.tracker",
    "Verdict": "bot.lifecycle._reconcile",
}

__all__ = [
    "RELEASED",
    "Admission",
    "Asker",
    "Bookkeeper",
    "DatabaseBusy",
    "Deliverer",
    "DestinationGone",
    "Foreground",
    "ImagineRequest",
    "IntakeCheck",
    "JobService",
    "KeyedLanes",
    "LeaseConfig",
    "Leases",
    "Outcome",
    "Outcomes",
    "Phase",
    "Progress",
    "Publisher",
    "Reconciler",
    "ReferenceCheck",
    "Remakes",
    "RunningCaps",
    "Start",
    "StatusBoard",
    "Step",
    "TaskRecord",
    "TaskStatus",
    "TaskStore",
    "Tracker",
    "TrackerConfig",
    "Verdict",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
