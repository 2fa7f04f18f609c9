"""MemberData: what the bot keeps about one member in one server, and erasing it on request.

Erasing forgets what the member wrote (prompts, negative prompts, reference links) and where their
results were posted (status and result message ids, output links), and their per-member settings.
It keeps what accounting needs: each task's status, image count, cost and times, and the ledger's
holds and adjustments, so /usage and its CSV still add up (showing a placeholder for the prompt).
Unfinished tasks are left alone: the lifecycle still needs their prompt and messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from bot.clock import utcnow
from bot.errors import InvalidRequest
from bot.guilds import MEMBER_GENERATION
from bot.ledger import DM_GUILD
from bot.lifecycle.model import TERMINAL, ImagineRequest, TaskRecord
from bot.storage import JsonValue, Storage, Transaction

log = logging.getLogger(__name__)

ERASED_BY_MEMBER = "(deleted by the member)"
ERASED_BY_MODERATOR = "(deleted by a moderator)"
PLACEHOLDERS = frozenset({ERASED_BY_MEMBER, ERASED_BY_MODERATOR})
"""What an erased task's prompt reads; a request with one of these as its prompt is a Reroll of it."""

_EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """Everything kept about one member in one server, read at once."""

    tasks: tuple[TaskRecord, ...]  # oldest first
    settled: Decimal  # what their finished jobs cost, as the ledger counts it
    held: Decimal  # reserved for their jobs still running
    settings: dict[str, JsonValue]

    @property
    def prompts(self) -> tuple[TaskRecord, ...]:
        """The tasks that still carry a prompt the member wrote (not erased), newest first."""
        return tuple(task for task in reversed(self.tasks) if task.prompt not in PLACEHOLDERS)

    @property
    def erasable(self) -> int:
        """Finished tasks that still carry what the member wrote or where it was posted."""
        return sum(1 for task in self.tasks if task.is_terminal and task.prompt not in PLACEHOLDERS)

    @property
    def unfinished(self) -> int:
        """Tasks still under way (an erase leaves them alone)."""
        return sum(1 for task in self.tasks if not task.is_terminal)


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erase did: tasks whose prompt and links went, settings gone, unfinished tasks left alone."""

    tasks: int
    settings: int
    unfinished: int


async def refuse_erased(req: ImagineRequest) -> None:
    """Intake check: an erased job's prompt is gone, so its Reroll button cannot make it again."""
    if req.prompt.strip() in PLACEHOLDERS:
        raise InvalidRequest(key="errors.prompt_erased")


class MemberData:
    """Reads and erases one member's data in one server (``guild_id=None``: direct messages)."""

    def __init__(
        self,
        storage: Storage,
        clock: Callable[[], datetime] = utcnow,
        *,
        forget: Callable[[int | None, int], None] = lambda guild_id, member_id: None,
    ) -> None:
        """``forget(guild_id, member_id)`` drops what a cache keeps of an erased member (``GuildSettings``)."""
        self._storage = storage
        self._clock = clock
        self._forget = forget

    async def record(self, guild_id: int | None, member_id: int) -> MemberRecord:
        """What the bot keeps about the member here."""
        key = DM_GUILD if guild_id is None else guild_id

        def read(tx: Transaction) -> MemberRecord:
            settled, held = tx.ledger.member_spend(key, member_id, *_EVER)
            return MemberRecord(
                tasks=tuple(tx.tasks.member_tasks(guild_id, member_id)),
                settled=settled,
                held=held,
                settings=tx.guilds.member_all(key, member_id),
            )

        return await self._storage.read(read)

    async def erase(self, guild_id: int | None, member_id: int, *, by_moderator: bool = False) -> Erasure:
        """Forget the member's prompts, links and settings here, in one transaction; keep the money."""
        key, now = DM_GUILD if guild_id is None else guild_id, self._clock()
        placeholder = ERASED_BY_MODERATOR if by_moderator else ERASED_BY_MEMBER

        def erase(tx: Transaction) -> Erasure:
            unfinished = sum(1 for task in tx.tasks.member_tasks(guild_id, member_id) if not task.is_terminal)
            tasks = tx.tasks.erase_member_tasks(guild_id, member_id, TERMINAL, placeholder, now)
            settings = tx.guilds.delete_member_all(key, member_id)
            tx.generations.bump(MEMBER_GENERATION)  # other processes' memory of them goes too
            return Erasure(tasks=tasks, settings=settings, unfinished=unfinished)

        try:
            done = await self._storage.transaction(erase)
        finally:
            self._forget(guild_id, member_id)
        log.info(
            "guild %s: erased member %s's data (%d task(s), %d setting(s); %d unfinished left alone; by %s)",
            guild_id,
            member_id,
            done.tasks,
            done.settings,
            done.unfinished,
            "a moderator" if by_moderator else "the member",
        )
        return done
