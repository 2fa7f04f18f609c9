"""Guild policy settings of the ledger: setters for admins and ``policy()`` to read them back."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from bot.clock import utcnow
from bot.periods import check_period
from bot.storage import Storage, Transaction

from ._models import GuildPolicy, LedgerDefaults, check_amount, guild_key
from ._periods import load_zone
from ._policy import load_settings

log = logging.getLogger(__name__)

T = TypeVar("T")
MEMO_LIMIT = 10_000  # remembered policy rows (one per member seen) before starting afresh
GENERATION = "ledger"
"""The generation every write of policy or prices adds one to, whichever bot process makes it."""


class LedgerSettings:
    """The per-guild policy half of ``Ledger``; holds the storage, defaults and clock."""

    def __init__(self, storage: Storage, defaults: LedgerDefaults, clock: Callable[[], datetime] = utcnow) -> None:
        self._storage = storage
        self._defaults = defaults
        self._clock = clock
        # Policy and prices are read once and kept until they are written again: the hot path
        # (reserve) then reads only the member's own spend. Every write of them bumps the
        # generation inside its transaction, on the database thread; what was remembered under an
        # older generation is read again. Another bot process writes them too: each write also adds
        # one to the database's generation, which every reservation reads in its own transaction
        # (``noticed_in``), so a hold never counts against policy or prices another process replaced.
        self._memo: dict[tuple[object, ...], tuple[int, object]] = {}
        self._generation = 0
        self._seen = 0  # the database's generation the memo was last checked against

    def noticed_in(self, tx: Transaction) -> None:
        """Inside a change: forget what was remembered if policy or prices were written anywhere since."""
        current = tx.generations.get(GENERATION)
        if current != self._seen:
            self._seen = current
            self._generation += 1

    async def _write(self, change: Callable[[Transaction], None]) -> None:
        """Write policy or prices: the change and the new generation in one transaction."""

        def write(tx: Transaction) -> None:
            change(tx)
            tx.generations.bump(GENERATION)  # for the other processes (``noticed_in``)
            self._generation += 1  # on the database thread, before any hold queued behind it runs
            # Where transactions run side by side (PostgreSQL), a read may start after the bump but
            # before the commit and still see the old policy: bump again once committed.
            tx.after_commit(self._written)

        await self._storage.transaction(write)

    def _written(self) -> None:
        self._generation += 1

    async def _remember(self, key: tuple[object, ...], load: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        """The value and the generation it was read under (a value read across a write counts as older)."""
        generation = self._generation
        known = self._memo.get(key)
        if known is not None and known[0] == generation:
            return known[1], generation  # type: ignore[return-value]
        value = await load()
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = (generation, value)
        return value, generation

    @property
    def defaults(self) -> LedgerDefaults:
        """The bot-wide defaults this ledger was built with."""
        return self._defaults

    async def policy(self, guild_id: int | None) -> GuildPolicy:
        """The guild's effective settings, role and member overrides (for display)."""
        key = guild_key(guild_id)

        def load(tx: Transaction) -> GuildPolicy:
            settings = load_settings(tx.ledger, key, self._defaults)
            role_limits, exempt_roles = tx.ledger.role_overrides(key)
            return GuildPolicy(
                guild_id=guild_id,
                member_limit=settings.member_limit,
                period=settings.period,
                timezone=settings.timezone,
                server_cap=settings.server_cap,
                paused=settings.paused,
                role_limits=role_limits,
                exempt_roles=exempt_roles,
                member_limits=tx.ledger.member_limits(key),
            )

        return await self._storage.read(load)

    async def set_member_limit(self, guild_id: int | None, member_id: int, amount: Decimal | None) -> None:
        """Give a member their own limit (wins over roles and exemption); None clears it."""
        value = None if amount is None else check_amount(amount, "member limit")
        now = self._clock()
        await self._write(lambda tx: tx.ledger.set_member_limit(guild_key(guild_id), member_id, value, now))

    async def set_role_limit(self, guild_id: int | None, role_id: int, amount: Decimal | None) -> None:
        """Set the per-member limit of a role's holders; None clears it."""
        value = None if amount is None else str(check_amount(amount, "role limit"))
        await self._set_role(guild_id, role_id, "member_limit", value)

    async def set_role_exempt(self, guild_id: int | None, role_id: int, exempt: bool) -> None:
        """Exempt a role's holders from the per-member limit (not from the server cap or pause)."""
        await self._set_role(guild_id, role_id, "exempt", int(exempt))

    async def _set_role(self, guild_id: int | None, role_id: int, column: str, value: str | int | None) -> None:
        now = self._clock()
        await self._write(lambda tx: tx.ledger.set_role(guild_key(guild_id), role_id, now, column, value))

    async def set_server_cap(self, guild_id: int | None, amount: Decimal | None) -> None:
        """Cap the whole guild's spend per period; None removes the cap."""
        value = None if amount is None else str(check_amount(amount, "server cap"))
        await self._set_guild(guild_id, server_cap=value)

    async def set_guild_defaults(
        self,
        guild_id: int | None,
        limit: Decimal | None = None,
        period: str | None = None,
        timezone: str | None = None,
    ) -> None:
        """Change the guild's default member limit, period and/or timezone (None = leave unchanged)."""
        changes: dict[str, str] = {}
        if limit is not None:
            changes["member_limit"] = str(check_amount(limit, "member limit"))
        if period is not None:
            changes["period"] = check_period(period)
        if timezone is not None:
            load_zone(timezone)
            changes["timezone"] = timezone
        if changes:
            await self._set_guild(guild_id, **changes)

    async def reset_guild_defaults(self, guild_id: int | None) -> None:
        """Put the guild's member limit, period and timezone back to the bot defaults."""
        await self._set_guild(guild_id, member_limit=None, period=None, timezone=None)

    async def set_paused(self, guild_id: int | None, paused: bool) -> None:
        """Kill switch: while paused every reservation of the guild is refused."""
        await self._set_guild(guild_id, paused=int(paused))
        log.warning("guild %s: generation %s", guild_key(guild_id), "paused" if paused else "resumed")

    async def _set_guild(self, guild_id: int | None, **columns: str | int | None) -> None:
        now = self._clock()
        await self._write(lambda tx: tx.ledger.set_guild(guild_key(guild_id), now, **columns))
