"""``python -m bot unconfirmed``: the operator's view of unconfirmed submits, and settling them.

Plain text on stdout, one clear line on stderr for a refusal (exit status 1). Safe beside a
running bot: it opens the same database, and the bot's tracker picks up a settled task at its
next reconcile step (within a minute with the default poll intervals).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from bot.app import ledger_defaults
from bot.bookkeeping import Bookkeeper
from bot.db.task_store import TaskStore
from bot.eggapi import EggAPIError, EggTask
from bot.ledger import Ledger
from bot.reconcile import Reconciler
from bot.resources import resources
from bot.settings import Settings
from bot.tracker import TrackerConfig
from bot.unconfirmed import OperatorError, Unconfirmed, UnconfirmedDesk

log = logging.getLogger(__name__)


def parse(args: Sequence[str]) -> tuple[str, int | None, str | None] | None:
    """(action, task id, EggAPI task id) from the words after ``unconfirmed``, or None if malformed."""
    if not args:
        return "list", None, None
    if args[0] == "adopt" and len(args) == 3 and args[1].isdigit():
        return "adopt", int(args[1]), args[2]
    if args[0] == "release" and len(args) == 2 and args[1].isdigit():
        return "release", int(args[1]), None
    return None


async def unconfirmed(settings: Settings, action: str, task_id: int | None, egg_task_id: str | None) -> int:
    """Run one operator action; returns the exit status."""
    async with resources(settings) as (db, _session, eggapi):
        store = TaskStore(db)
        ledger = Ledger(db, ledger_defaults(settings))
        reconciler = Reconciler(store, eggapi, grace=TrackerConfig().reconcile_grace)
        desk = UnconfirmedDesk(store, Bookkeeper(db, store, ledger), eggapi, reconciler)
        try:
            if action == "list":
                print(_listing(await desk.pending()))
            elif action == "adopt" and task_id is not None and egg_task_id is not None:
                task = await desk.adopt(task_id, egg_task_id)
                print(f"task {task.id} now follows EggAPI task {task.egg_task_id}; the bot will post its images.")
            elif action == "release" and task_id is not None:
                task = await desk.release(task_id)
                print(f"task {task.id} released: its hold is freed and the member will be told.")
        except OperatorError as refused:
            print(f"eggbot: {refused}", file=sys.stderr)
            return 1
        except EggAPIError as exc:
            print(f"eggbot: EggAPI could not be asked (HTTP {exc.status} {exc.code}); try again.", file=sys.stderr)
            return 1
    return 0


def _listing(pending: list[Unconfirmed]) -> str:
    if not pending:
        return "No unconfirmed submits."
    how = "python -m bot unconfirmed adopt TASK EGG_TASK_ID (the EggAPI task it became) or release TASK"
    lines = [f"{len(pending)} unconfirmed submit(s). Settle each with: {how}."]
    for item in pending:
        task = item.task
        sent = task.submitted_at or task.created_at
        lines.append(
            f"task {task.id}  sent {sent:%Y-%m-%d %H:%M:%S}Z  member {task.member_id}  channel {task.channel_id}  "
            f"{task.count} x {task.mode}  prompt {task.prompt[:60]!r}"
        )
        lines.append("  could be: " + (", ".join(_egg(egg) for egg in item.candidates) or "no EggAPI task in its window"))
    return "\n".join(lines)


def _egg(egg: EggTask) -> str:
    created = f", created {egg.created_at:%H:%M:%S}Z" if egg.created_at else ""
    return f"{egg.id} ({egg.status}{created})"
