"""The Ledger: one hold per task, settled to the real cost or released, checked against the policy."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

import aiosqlite

from bot.db import Database
from bot.eggapi import MODEL, UsageRow, format_cost

from . import _policy as policy_sql
from . import _store as store
from ._models import (
    ZERO,
    Balance,
    Hold,
    HoldState,
    LedgerDefaults,
    MemberSpend,
    QuotaExceeded,
    QuotaReason,
    check_amount,
    guild_key,
)
from ._periods import period_bounds, require_aware, utcnow
from ._policy import Fetch, GuildSettings, tx_fetch
from ._settings import LedgerSettings

log = logging.getLogger(__name__)

PRICE_QUANTUM = Decimal("0.000001")
"""Unit prices are rounded up to this step, so a reservation never undershoots the average price."""


@dataclass(frozen=True, slots=True)
class _Standing:
    settings: GuildSettings
    start: datetime
    end: datetime
    limit: Decimal | None
    settled: Decimal
    reserved: Decimal
    guild_spent: Decimal | None  # None when the guild has no server cap

    @property
    def member_left(self) -> Decimal | None:
        return None if self.limit is None else self.limit - self.settled - self.reserved

    @property
    def server_left(self) -> Decimal | None:
        cap = self.settings.server_cap
        return None if cap is None or self.guild_spent is None else cap - self.guild_spent


class Ledger(LedgerSettings):
    """Quota ledger over the bot's database (see the package docstring for the contract)."""

    def __init__(self, db: Database, defaults: LedgerDefaults, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(db, defaults, clock)
        self._budget_warned = False

    def _now(self, now: datetime | None) -> datetime:
        return require_aware(self._clock() if now is None else now)

    # -- prices and the account total --------------------------------------------------------

    async def update_prices(self, rows: Sequence[UsageRow], now: datetime | None = None) -> None:
        """Store unit prices (total_cost / total_units, rows without units ignored) and the account total."""
        prices: dict[str, Decimal] = {}
        for row in rows:
            if row.model and row.total_units > 0 and row.total_cost >= 0:
                prices[row.model] = (row.total_cost / row.total_units).quantize(PRICE_QUANTUM, ROUND_CEILING)
        usage = sum((row.total_cost for row in rows), ZERO)
        async with self._db.write() as tx:
            await store.store_usage(tx, prices, usage, self._now(now))
        self._memo.clear()
        log.info("usage summary: account total %s, unit prices %s", format_cost(usage), prices or "unchanged")

    async def unit_price(self, model: str = MODEL) -> Decimal:
        """The cached unit price of ``model``, or the configured default before any summary priced it."""
        return await self._price(self._db.fetchall, model)

    async def _price(self, fetch: Fetch, model: str) -> Decimal:
        price = await self._remember(("price", model), lambda: store.load_price(fetch, model))
        return self._defaults.unit_price if price is None else price

    async def account_budget_reached(self) -> bool:
        """True when an account budget is set and the last usage total plus active holds reach it."""
        left = await self._account_left(self._db.fetchall)
        return left is not None and left <= 0

    async def _account_left(self, fetch: Fetch) -> Decimal | None:
        budget = self._defaults.account_budget
        if budget is None:
            return None
        usage = await store.load_usage_cost(fetch) or ZERO
        # EggAPI's total is only as fresh as its last summary: add what settled since, and what is held.
        recent = await store.settled_since_summary(fetch)
        return budget - usage - recent - await store.active_total(fetch)

    # -- holds ---------------------------------------------------------------------------------

    async def reserve(
        self,
        tx: aiosqlite.Connection,
        *,
        task_id: int,
        guild_id: int | None,
        member_id: int,
        role_ids: Sequence[int],
        count: int,
        now: datetime | None = None,
        model: str = MODEL,
    ) -> Hold:
        """Hold ``count`` × unit price for a task, inside the caller's ``db.write()`` transaction.

        Raises QuotaExceeded (writing nothing) when paused or over the account budget, the member
        limit or the server cap, checked in that order.
        """
        if not tx.in_transaction:
            raise RuntimeError("Ledger.reserve must run inside Database.write()")
        if count < 1:
            raise ValueError(f"count must be >= 1, not {count}")
        now = self._now(now)
        fetch = tx_fetch(tx)
        key = guild_key(guild_id)
        needed = await self._price(fetch, model) * count
        st = await self._standing(fetch, key, member_id, role_ids, now)
        period = st.settings.period
        if st.settings.paused:
            self._refuse(task_id, QuotaReason.PAUSED)
            raise QuotaExceeded(QuotaReason.PAUSED, available=ZERO, needed=needed, resets_at=None, period=period)
        account_left = await self._account_left(fetch)
        if account_left is not None and needed > account_left:
            self._refuse(task_id, QuotaReason.ACCOUNT_BUDGET)
            if not self._budget_warned:
                self._budget_warned = True
                budget = format_cost(self._defaults.account_budget or ZERO)
                log.warning("account budget %s reached; refusing new work", budget)
            raise QuotaExceeded(
                QuotaReason.ACCOUNT_BUDGET, available=account_left, needed=needed, resets_at=None, period=period
            )
        self._budget_warned = False
        for reason, left in ((QuotaReason.MEMBER_LIMIT, st.member_left), (QuotaReason.SERVER_CAP, st.server_left)):
            if left is not None and needed > left:
                self._refuse(task_id, reason)
                raise QuotaExceeded(reason, available=left, needed=needed, resets_at=st.end, period=period)
        await store.insert_hold(
            tx, task_id=task_id, key=key, member_id=member_id, period_start=st.start, reserved=needed, now=now
        )
        log.info("task %s: held %s for member %s in guild %s", task_id, format_cost(needed), member_id, key)
        return Hold(
            task_id=task_id,
            guild_id=guild_id,
            member_id=member_id,
            period_start=st.start,
            reserved=needed,
            settled=None,
            state=HoldState.ACTIVE,
            created_at=now,
            updated_at=now,
        )

    @staticmethod
    def _refuse(task_id: int, reason: QuotaReason) -> None:
        log.info("task %s: hold refused (%s)", task_id, reason.value)

    async def settle(self, task_id: int, cost: Decimal) -> bool:
        """Record a completed task's real cost (smaller or larger than held); False if not active."""
        async with self._db.write() as tx:
            return await self.settle_in(tx, task_id, cost)

    async def settle_in(self, tx: aiosqlite.Connection, task_id: int, cost: Decimal) -> bool:
        """Like ``settle`` inside an open write transaction."""
        cost = check_amount(cost, "cost")
        done = await store.close_hold(tx, task_id, HoldState.SETTLED, cost, self._now(None))
        log.log(logging.INFO if done else logging.DEBUG, "task %s: settle %s -> %s", task_id, format_cost(cost), done)
        return done

    async def release(self, task_id: int) -> bool:
        """Free a hold of work that produced nothing (cost 0); False if not active."""
        async with self._db.write() as tx:
            return await self.release_in(tx, task_id)

    async def release_in(self, tx: aiosqlite.Connection, task_id: int) -> bool:
        """Like ``release`` inside an open write transaction."""
        done = await store.close_hold(tx, task_id, HoldState.RELEASED, ZERO, self._now(None))
        log.log(logging.INFO if done else logging.DEBUG, "task %s: release -> %s", task_id, done)
        return done

    async def hold(self, task_id: int) -> Hold | None:
        """The hold of a task, or None."""
        return await store.get_hold(self._db.fetchall, task_id)

    # -- reading -----------------------------------------------------------------------------

    async def _standing(
        self, fetch: Fetch, key: int, member_id: int, role_ids: Sequence[int], now: datetime
    ) -> _Standing:
        settings = await self._remember(("settings", key), lambda: policy_sql.load_settings(fetch, key, self._defaults))
        start, end = period_bounds(settings.period, settings.timezone, now)
        role_limits, exempt_roles = await self._remember(("roles", key), lambda: policy_sql.load_roles(fetch, key))
        own = await self._remember(
            ("member", key, member_id), lambda: policy_sql.load_member_limit(fetch, key, member_id)
        )
        limit = policy_sql.resolve_limit(settings.member_limit, role_limits, exempt_roles, own, role_ids)
        settled, reserved = await store.member_spend(fetch, key, member_id, start, end)
        guild_spent = None if settings.server_cap is None else await store.guild_spend(fetch, key, start, end)
        return _Standing(settings, start, end, limit, settled, reserved, guild_spent)

    async def balance(
        self, guild_id: int | None, member_id: int, role_ids: Sequence[int], now: datetime | None = None
    ) -> Balance:
        """A member's limit, spend and what is left in the current period."""
        st = await self._standing(self._db.fetchall, guild_key(guild_id), member_id, role_ids, self._now(now))
        member_left, server_left = st.member_left, st.server_left
        return Balance(
            limit=st.limit,
            settled=st.settled,
            reserved=st.reserved,
            available=None if member_left is None else max(member_left, ZERO),
            period_start=st.start,
            resets_at=st.end,
            exempt=st.limit is None,
            paused=st.settings.paused,
            period=st.settings.period,
            server_cap=st.settings.server_cap,
            server_available=None if server_left is None else max(server_left, ZERO),
        )

    async def period_totals(self, guild_id: int | None, start: datetime, end: datetime) -> list[MemberSpend]:
        """Per-member spend of holds created in [start, end), biggest spender first."""
        return await store.totals_by_member(
            self._db.fetchall, guild_key(guild_id), require_aware(start), require_aware(end)
        )
