"""Keeps the ledger's unit prices and the account total in step with EggAPI's usage summary."""

from __future__ import annotations

import asyncio
import logging

from bot.eggapi import EggAPIClient, EggAPIError, Unauthorized
from bot.ledger import Ledger

log = logging.getLogger(__name__)


class PriceRefresher:
    """Refreshes prices from ``GET /v1/usage/summary`` at start and then every ``interval`` seconds."""

    def __init__(self, client: EggAPIClient, ledger: Ledger, interval: float) -> None:
        self._client = client
        self._ledger = ledger
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._budget_reached = False
        self._asked = False
        # Set when EggAPI refuses the API key at the first refresh: the bot cannot work, so
        # ``python -m bot`` stops with an ERROR, as for a wrong Discord token.
        self.key_refused = asyncio.Event()

    async def refresh_once(self) -> bool:
        """One refresh; False (logged) when EggAPI could not be asked."""
        first, self._asked = not self._asked, True
        try:
            rows = await self._client.usage_summary()
        except Unauthorized as exc:
            if first:
                log.error("EggAPI refused EGGAPI_API_KEY (%s); check the key in the EggAPI dashboard", exc.code)
                self.key_refused.set()
            else:
                log.warning("usage summary unavailable (%s); keeping the cached prices", exc.code)
            return False
        except EggAPIError as exc:
            log.warning("usage summary unavailable (%s); keeping the cached prices", exc.code)
            return False
        await self._ledger.update_prices(rows)
        reached = await self._ledger.account_budget_reached()
        if reached and not self._budget_reached:
            log.error("the account budget (EGGBOT_ACCOUNT_BUDGET) is used up: generation is stopped everywhere")
        elif self._budget_reached and not reached:
            log.info("the account budget has room again: generation resumes")
        self._budget_reached = reached
        return True

    def start(self) -> None:
        """Run the refresh loop in the background."""
        self._task = asyncio.create_task(self._run(), name="eggbot-prices")

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh_once()
            except Exception:
                log.exception("refreshing prices failed; trying again at the next interval")
            await asyncio.sleep(self._interval)

    async def close(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
