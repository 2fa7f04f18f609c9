"""Moderators' one-off adjustments of one member's budget: a top-up, or a reset of their spend.

Each is one ledger row counted in the period of its creation (it ends with that period), written in
one transaction with the member's balance read just before and just after it, so a caller (the
mod-log) can record both, and so a reservation queued behind it sees it whole or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from bot.clock import require_aware
from bot.eggapi import format_cost
from bot.storage import LedgerRepository, Transaction

from ._models import Adjustment, AdjustmentKind, AdjustmentResult, Balance, check_amount, guild_key
from ._settings import LedgerSettings

log = logging.getLogger(__name__)


class LedgerAdjustments(LedgerSettings):
    """The adjustments half of ``Ledger``; ``Ledger`` supplies ``_balance_in``."""

    def _balance_in(
        self, ledger: LedgerRepository, key: int, member_id: int, role_ids: Sequence[int], when: datetime
    ) -> Balance:
        raise NotImplementedError

    async def top_up(
        self,
        guild_id: int | None,
        member_id: int,
        amount: Decimal,
        *,
        moderator_id: int,
        role_ids: Sequence[int] = (),
        now: datetime | None = None,
    ) -> AdjustmentResult:
        """Add ``amount`` (> 0) to what the member may spend in the current period only (not their limit)."""
        value = check_amount(amount, "top-up")
        if value <= 0:
            raise ValueError("a top-up must be above zero")
        result = await self._adjust(guild_id, member_id, AdjustmentKind.TOPUP, value, moderator_id, role_ids, now)
        log.info(
            "guild %s: moderator %s topped up member %s by %s this period",
            guild_key(guild_id),
            moderator_id,
            member_id,
            format_cost(value),
        )
        return result

    async def reset_spend(
        self,
        guild_id: int | None,
        member_id: int,
        *,
        moderator_id: int,
        role_ids: Sequence[int] = (),
        now: datetime | None = None,
    ) -> AdjustmentResult:
        """Forgive what the member has settled so far this period; running jobs' holds still count.

        The amount is read inside the transaction, so a hold settling meanwhile is either forgiven
        whole or counted whole; forgiving only settled money means a reservation racing the reset
        can never use money that is still held.
        """
        result = await self._adjust(guild_id, member_id, AdjustmentKind.RESET, None, moderator_id, role_ids, now)
        log.info(
            "guild %s: moderator %s reset member %s's spend this period (forgave %s)",
            guild_key(guild_id),
            moderator_id,
            member_id,
            format_cost(result.adjustment.amount),
        )
        return result

    async def _adjust(
        self,
        guild_id: int | None,
        member_id: int,
        kind: AdjustmentKind,
        amount: Decimal | None,
        moderator_id: int,
        role_ids: Sequence[int],
        now: datetime | None,
    ) -> AdjustmentResult:
        key = guild_key(guild_id)
        when = require_aware(self._clock() if now is None else now)

        def write(tx: Transaction) -> AdjustmentResult:
            before = self._balance_in(tx.ledger, key, member_id, role_ids, when)
            value = before.spent if amount is None else amount
            adjustment = tx.ledger.insert_adjustment(
                key=key,
                member_id=member_id,
                kind=kind,
                amount=value,
                moderator_id=moderator_id,
                period_start=before.period_start,
                now=when,
            )
            return AdjustmentResult(adjustment, before, self._balance_in(tx.ledger, key, member_id, role_ids, when))

        return await self._storage.transaction(write)

    async def adjustments(
        self,
        guild_id: int | None,
        *,
        member_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Adjustment]:
        """The guild's adjustments (one member's, or everyone's) made in [start, end), newest first."""
        key = guild_key(guild_id)
        start = None if start is None else require_aware(start)
        end = None if end is None else require_aware(end)
        return await self._storage.read(
            lambda tx: tx.ledger.adjustments(key, member_id=member_id, start=start, end=end)
        )
