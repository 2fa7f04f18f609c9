"""The Ledger: one hold per task, settled to the real cost or released, checked against the policy."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from bot.clock import require_aware, utcnow
from bot.eggapi import MODEL, UsageRow, format_cost
from bot.storage import LedgerRepository, Storage, Transaction

from ._adjustments import LedgerAdjustments
from ._models import (
    DM_GUILD,
    ZERO,
    Balance,
    Charge,
    Hold,
    HoldState,
    LedgerDefaults,
    MemberSpend,
    QuotaExceeded,
    QuotaReason,
    check_amount,
    guild_key,
)
from ._periods import period_bounds
from ._policy import QuotaSettings, load_settings, resolve_limit
from ._settings import GENERATION

log = logging.getLogger(__name__)

PRICE_QUANTUM = Decimal("0.000001")
"""Unit prices are rounded up to this step, so a reservation never undershoots the average price."""
RECENT_TASK_PRICES = 20
"""How many of the newest completed tasks' per-image prices count as evidence for new holds."""


@dataclass(frozen=True, slots=True)
class _Policy:
    """What a member's holds are checked against, apart from their roles and spend."""

    settings: QuotaSettings
    role_limits: dict[int, Decimal]
    exempt_roles: frozenset[int]
    own_limit: Decimal | None
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class HoldTerms:
    """A request for a hold, with the policy read before its transaction (``Ledger.terms``)."""

    key: int
    member_id: int
    role_ids: tuple[int, ...]
    count: int
    model: str
    policy: _Policy
    generation: int


@dataclass(frozen=True, slots=True)
class _Standing:
    settings: QuotaSettings
    start: datetime
    end: datetime
    limit: Decimal | None
    settled: Decimal
    reserved: Decimal
    guild_spent: Decimal | None  # None when the guild has no server cap
    topup: Decimal = ZERO  # moderators' one-off top-ups this period
    forgiven: Decimal = ZERO  # settled spend moderators reset this period

    @property
    def member_left(self) -> Decimal | None:
        if self.limit is None:
            return None
        return self.limit + self.topup - (self.settled - self.forgiven) - self.reserved

    @property
    def server_left(self) -> Decimal | None:
        cap = self.settings.server_cap
        return None if cap is None or self.guild_spent is None else cap - self.guild_spent


class Ledger(LedgerAdjustments):
    """Quota ledger over the bot's database (see the package docstring for the contract)."""

    def __init__(self, storage: Storage, defaults: LedgerDefaults, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(storage, defaults, clock)
        self._budget_warned = False

    def _now(self, now: datetime | None) -> datetime:
        return require_aware(self._clock() if now is None else now)

    # -- prices and the account total --------------------------------------------------------

    async def update_prices(self, rows: Sequence[UsageRow], now: datetime | None = None) -> None:
        """Store unit prices (total_cost / total_units) and the account total.

        Rows without units or without a positive cost say nothing about a price: a zero price would
        make every hold free, so they keep the price known before.
        """
        prices: dict[str, Decimal] = {}
        for row in rows:
            if row.model and row.total_units > 0 and row.total_cost > 0:
                prices[row.model] = (row.total_cost / row.total_units).quantize(PRICE_QUANTUM, ROUND_CEILING)
        usage = sum((row.total_cost for row in rows), ZERO)
        stamp = self._now(now)
        await self._write(lambda tx: tx.ledger.store_usage(prices, usage, stamp))
        log.info("usage summary: account total %s, unit prices %s", format_cost(usage), prices or "unchanged")

    async def unit_price(self, model: str = MODEL) -> Decimal:
        """The per-image price holds use: the highest evidence, never below the configured floor."""
        return await self._storage.read(lambda tx: self._price(tx.ledger, model))

    def _price(self, ledger: LedgerRepository, model: str) -> Decimal:
        # A hold is a worst case, so it takes the highest price there is evidence for. The floor
        # (EGGBOT_UNIT_PRICE, > 0) keeps a low or zero average from the usage summary from
        # making images look cheaper, or free.
        # The summary is an average over all time, so a price rise shows in it late; each recent
        # task's own cost per image shows it at once.
        evidence = [self._defaults.unit_price, *ledger.recent_task_prices(model)]
        summary = ledger.summary_price(model)
        if summary is not None:
            evidence.append(summary)
        return max(evidence)

    async def account_budget_reached(self) -> bool:
        """True when an account budget is set and the last usage total plus active holds reach it."""
        left = await self._storage.read(lambda tx: self._account_left(tx.ledger))
        return left is not None and left <= 0

    def _account_left(self, ledger: LedgerRepository) -> Decimal | None:
        budget = self._defaults.account_budget
        if budget is None:
            return None
        usage = ledger.usage_cost() or ZERO
        # EggAPI's total is only as fresh as its last summary: add what settled since, and what is held.
        recent = ledger.settled_since_summary()
        return budget - usage - recent - ledger.active_total()

    # -- holds ---------------------------------------------------------------------------------

    async def terms(
        self, *, guild_id: int | None, member_id: int, role_ids: Sequence[int], count: int, model: str = MODEL
    ) -> HoldTerms:
        """Everything a hold is checked against except spend, read (and remembered) before its transaction."""
        if count < 1:
            raise ValueError(f"count must be >= 1, not {count}")
        key = guild_key(guild_id)
        policy, generation = await self._remember(
            ("policy", key, member_id, model),
            lambda: self._storage.read(lambda tx: self._policy(tx.ledger, key, member_id, model)),
        )
        return HoldTerms(key, member_id, tuple(role_ids), count, model, policy, generation)

    def _policy(self, ledger: LedgerRepository, key: int, member_id: int, model: str) -> _Policy:
        role_limits, exempt_roles = ledger.role_overrides(key)
        return _Policy(
            settings=load_settings(ledger, key, self._defaults),
            role_limits=role_limits,
            exempt_roles=exempt_roles,
            own_limit=ledger.member_limit(key, member_id),
            unit_price=self._price(ledger, model),
        )

    async def reserve(
        self,
        *,
        task_id: int,
        guild_id: int | None,
        member_id: int,
        role_ids: Sequence[int],
        count: int,
        now: datetime | None = None,
        model: str = MODEL,
    ) -> Hold:
        """Hold ``count`` × unit price for an existing task, in a transaction of its own.

        ``JobService.create`` does the same with ``terms`` and ``reserve_in`` inside the transaction
        that inserts the task row. Raises QuotaExceeded having written nothing.
        """
        terms = await self.terms(guild_id=guild_id, member_id=member_id, role_ids=role_ids, count=count, model=model)
        return await self._storage.transaction(lambda tx: self.reserve_in(tx, terms, task_id=task_id, now=now))

    def reserve_in(self, tx: Transaction, terms: HoldTerms, *, task_id: int, now: datetime | None = None) -> Hold:
        """Hold the cost of ``terms`` for a task, inside ``Storage.transaction`` (on the database thread).

        Raises QuotaExceeded (writing nothing) when paused or over the account budget, the member
        limit or the server cap, checked in that order.
        """
        now = self._now(now)
        ledger = tx.ledger
        policy = terms.policy
        self.noticed_in(tx)  # by another process too
        if terms.generation != self._generation:  # policy or prices were written since: read them afresh
            policy = self._policy(ledger, terms.key, terms.member_id, terms.model)
        needed = policy.unit_price * terms.count
        st = self._standing(ledger, policy, terms.key, terms.member_id, terms.role_ids, now)
        period = st.settings.period
        if st.settings.paused:
            self._refuse(task_id, QuotaReason.PAUSED)
            raise QuotaExceeded(QuotaReason.PAUSED, available=ZERO, needed=needed, resets_at=None, period=period)
        account_left = self._account_left(ledger)
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
                limit = st.limit if reason is QuotaReason.MEMBER_LIMIT else st.settings.server_cap
                raise QuotaExceeded(reason, available=left, needed=needed, resets_at=st.end, period=period, limit=limit)
        ledger.insert_hold(
            task_id=task_id,
            key=terms.key,
            member_id=terms.member_id,
            period_start=st.start,
            reserved=needed,
            now=now,
        )
        log.debug(
            "task %s: held %s for member %s in guild %s", task_id, format_cost(needed), terms.member_id, terms.key
        )
        return Hold(
            task_id=task_id,
            guild_id=None if terms.key == DM_GUILD else terms.key,
            member_id=terms.member_id,
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

    async def charge(self, cost: Decimal | None, images: int, model: str = MODEL) -> Charge:
        """What a completed task that produced ``images`` costs its member; ``cost`` None = unreadable.

        EggAPI did make, and bill, those images, so an unreadable cost must not make them free.
        The best evidence of what each one cost is the per-image price the bot reserves with (never
        below the configured floor, see ``unit_price``); counting only the images produced keeps a
        partial result as cheap as EggAPI made it.
        """
        if cost is not None:
            return Charge(check_amount(cost, "cost"), images)
        return Charge(await self.unit_price(model) * images, images, estimated=True)

    async def settle(self, task_id: int, cost: Decimal | Charge) -> bool:
        """Record a completed task's real cost (smaller or larger than held); False if not active."""
        return await self._storage.transaction(lambda tx: self.settle_in(tx, task_id, cost))

    def settle_in(self, tx: Transaction, task_id: int, cost: Decimal | Charge, model: str = MODEL) -> bool:
        """Like ``settle`` inside ``Storage.transaction``; EggAPI's cost of known images is price evidence."""
        charge = cost if isinstance(cost, Charge) else Charge(check_amount(cost, "cost"))
        now = self._now(None)
        done = tx.ledger.close_hold(task_id, HoldState.SETTLED, charge.amount, now, estimated=charge.estimated)
        log.log(
            logging.INFO if done else logging.DEBUG,
            "task %s: settle %s%s -> %s",
            task_id,
            format_cost(charge.amount),
            " (estimated)" if charge.estimated else "",
            done,
        )
        if done and not charge.estimated and charge.images and charge.amount > 0:
            self._learn(tx, task_id, model, charge.amount / charge.images, now)
        return done

    def _learn(self, tx: Transaction, task_id: int, model: str, price: Decimal, now: datetime) -> None:
        ledger = tx.ledger
        before = self._price(ledger, model)
        price = price.quantize(PRICE_QUANTUM, ROUND_CEILING)
        ledger.learn_task_price(task_id, model, price, now, RECENT_TASK_PRICES)
        after = self._price(ledger, model)
        if after != before:
            # Holds priced from remembered terms must see the new price: as for a policy write, bump
            # the generation here, on the database thread, before any reserve queued behind us runs
            # (and the database's, for the other processes).
            tx.generations.bump(GENERATION)
            self._generation += 1
            tx.after_commit(self._written)  # and again once committed (see ``_write``)
            log.info("price per image for new holds: %s (was %s)", format_cost(after), format_cost(before))

    async def release(self, task_id: int) -> bool:
        """Free a hold of work that produced nothing (cost 0); False if not active."""
        return await self._storage.transaction(lambda tx: self.release_in(tx, task_id))

    def release_in(self, tx: Transaction, task_id: int) -> bool:
        """Like ``release`` inside ``Storage.transaction``."""
        done = tx.ledger.close_hold(task_id, HoldState.RELEASED, ZERO, self._now(None))
        log.log(logging.INFO if done else logging.DEBUG, "task %s: release -> %s", task_id, done)
        return done

    async def hold(self, task_id: int) -> Hold | None:
        """The hold of a task, or None."""
        return await self._storage.read(lambda tx: tx.ledger.hold(task_id))

    # -- reading -----------------------------------------------------------------------------

    def _standing(
        self,
        ledger: LedgerRepository,
        policy: _Policy,
        key: int,
        member_id: int,
        role_ids: Sequence[int],
        now: datetime,
    ) -> _Standing:
        settings = policy.settings
        start, end = period_bounds(settings.period, settings.timezone, now)
        limit = resolve_limit(
            settings.member_limit, policy.role_limits, policy.exempt_roles, policy.own_limit, role_ids
        )
        settled, reserved = ledger.member_spend(key, member_id, start, end)
        # The server cap counts what the guild really spent: a member's top-up or reset does not lift it.
        guild_spent = None if settings.server_cap is None else ledger.guild_spend(key, start, end)
        topup, forgiven = ledger.member_adjustments(key, member_id, start, end)
        return _Standing(settings, start, end, limit, settled, reserved, guild_spent, topup, forgiven)

    async def balance(
        self, guild_id: int | None, member_id: int, role_ids: Sequence[int], now: datetime | None = None
    ) -> Balance:
        """A member's limit, spend and what is left in the current period."""
        key, when = guild_key(guild_id), self._now(now)
        return await self._storage.read(lambda tx: self._balance_in(tx.ledger, key, member_id, role_ids, when))

    def _balance_in(
        self, ledger: LedgerRepository, key: int, member_id: int, role_ids: Sequence[int], when: datetime
    ) -> Balance:
        st = self._standing(ledger, self._policy(ledger, key, member_id, MODEL), key, member_id, role_ids, when)
        member_left, server_left = st.member_left, st.server_left
        return Balance(
            limit=st.limit,
            settled=st.settled,
            reserved=st.reserved,
            available=None if member_left is None else max(member_left, ZERO),
            overdrawn=ZERO if member_left is None else max(-member_left, ZERO),
            period_start=st.start,
            resets_at=st.end,
            exempt=st.limit is None,
            paused=st.settings.paused,
            period=st.settings.period,
            server_cap=st.settings.server_cap,
            server_available=None if server_left is None else max(server_left, ZERO),
            topup=st.topup,
            forgiven=st.forgiven,
        )

    async def period_totals(self, guild_id: int | None, start: datetime, end: datetime) -> list[MemberSpend]:
        """Per-member spend of holds created in [start, end), biggest spender first."""
        key, start, end = guild_key(guild_id), require_aware(start), require_aware(end)
        spends = await self._storage.read(lambda tx: tx.ledger.spend_by_member(key, start, end))
        spends.sort(key=lambda s: (-(s.settled + s.reserved), s.member_id))
        return spends
