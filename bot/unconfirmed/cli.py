"""``python -m bot unconfirmed``: the operator's view of unconfirmed submits, and settling them.

Plain text on stdout, one clear line on stderr for a refusal (exit status 1). Safe beside a
running bot: it opens the same database, and the bot's tracker picks up a settled task at its
next reconcile step (within a minute with the default poll intervals).
"""

from __future__ import annotations

import logging
import re
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from bot.eggapi import EggAPIError, EggTask
from bot.lifecycle import TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.services import Core, build_core, open_resources
from bot.settings import Settings
from bot.unconfirmed.desk import OperatorError, Unconfirmed, UnconfirmedDesk

log = logging.getLogger(__name__)


_NUMBER = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class Action:
    """One parsed operator command."""

    name: str  # "list", "adopt" or "release"
    task_id: int = 0
    egg_task_id: str = ""
    force: bool = False


def parse(args: Sequence[str]) -> Action | None:
    """The command in the words after ``unconfirmed``, or None if malformed."""
    if not args:
        return Action("list")
    if args[0] == "adopt" and len(args) == 3 and _NUMBER.fullmatch(args[1]):
        return Action("adopt", int(args[1]), args[2])
    if args[0] == "release" and len(args) in (2, 3) and _NUMBER.fullmatch(args[1]) and args[2:] in ([], ["--force"]):
        return Action("release", int(args[1]), force=args[2:] == ["--force"])
    return None


async def unconfirmed(settings: Settings, action: Action) -> int:
    """Run one operator command; returns the exit status."""
    resources = open_resources(settings, existing_database=True)  # never creates nor migrates a database
    try:
        opened = await resources.__aenter__()
    except (OSError, RuntimeError, sqlite3.Error) as exc:
        print(f"eggbot: cannot use the bot's database ({exc}); check {_database_setting(settings)}.", file=sys.stderr)
        return 1
    try:
        return await _settle(build_core(settings, opened), action)
    finally:
        await resources.__aexit__(None, None, None)


def _database_setting(settings: Settings) -> str:
    return "DATABASE_URL" if settings.database_url else "DATABASE_PATH"


async def _settle(core: Core, action: Action) -> int:
    desk = core.desk
    try:
        if action.name == "list":
            return await _list(desk, core.tasks)
        if action.name == "adopt":
            task = await desk.adopt(action.task_id, action.egg_task_id)
            print(f"task {task.id} now follows EggAPI task {task.egg_task_id}; the bot will post its images.")
        else:
            task = await desk.release(action.task_id, force=action.force)
            print(f"task {task.id} released: its hold is freed and the member will be told.")
    except OperatorError as refused:
        print(f"eggbot: {refused}", file=sys.stderr)
        return 1
    except EggAPIError as exc:
        print(f"eggbot: EggAPI could not be asked ({_describe(exc)}); try again.", file=sys.stderr)
        return 1
    return 0


async def _list(desk: UnconfirmedDesk, store: TaskStore) -> int:
    try:
        print(_listing(await desk.pending()))
    except EggAPIError as exc:  # the tasks still, without what they could be
        tasks = await store.list_in_states((TaskStatus.UNKNOWN,))
        print(_listing([Unconfirmed(task, []) for task in tasks], candidates=False))
        print(f"eggbot: EggAPI could not be asked for candidates ({_describe(exc)}).", file=sys.stderr)
        return 1
    return 0


def _describe(exc: EggAPIError) -> str:
    return f"HTTP {exc.status} {exc.code}" if exc.status else exc.code


def _listing(pending: list[Unconfirmed], *, candidates: bool = True) -> str:
    if not pending:
        return "No unconfirmed submits."
    how = "python -m bot unconfirmed adopt TASK EGG_TASK_ID (the EggAPI task it became) or release TASK [--force]"
    lines = [f"{len(pending)} unconfirmed submit(s). Settle each with: {how}."]
    for item in pending:
        task = item.task
        sent = task.submitted_at or task.created_at
        lines.append(
            f"task {task.id}  sent {sent:%Y-%m-%d %H:%M:%S}Z  member {task.member_id}  channel {task.channel_id}  "
            f"{task.count} x {task.mode}  prompt {task.prompt[:60]!r}"
        )
        if candidates:
            found = ", ".join(_egg(egg) for egg in item.candidates)
            lines.append("  could be: " + (found or "no EggAPI task in its window"))
    return "\n".join(lines)


def _egg(egg: EggTask) -> str:
    created = f", created {egg.created_at:%H:%M:%S}Z" if egg.created_at else ""
    return f"{egg.id} ({egg.status}{created})"
