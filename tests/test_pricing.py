"""Prices and the account total follow EggAPI's usage summary; an outage keeps the cached price."""

from __future__ import annotations

import logging
from decimal import Decimal

import aiohttp
import pytest

from bot.eggapi import EggAPIClient, GenerateRequest
from bot.ledger import Ledger, LedgerDefaults
from bot.ledger.prices import PriceRefresher
from testkit.backends import Backend
from testkit.fake_eggapi import DEFAULT_API_KEY, FakeEggAPI, TaskPlan


async def test_refresh_prices_budget_and_outage(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with (
        FakeEggAPI() as eggapi,
        aiohttp.ClientSession() as session,
        await backend.open() as db,
    ):
        client = EggAPIClient(session, api_key=DEFAULT_API_KEY, base_url=eggapi.url, backoff_base=0.001, max_attempts=2)
        ledger = Ledger(db, LedgerDefaults(member_limit=Decimal("1"), period="day", account_budget=Decimal("0.07")))
        refresher = PriceRefresher(client, ledger, interval=3600)
        assert await ledger.unit_price() == Decimal("0.01")  # the default until EggAPI says otherwise

        eggapi.plan_next(TaskPlan(cost_per_image=Decimal("0.02"), images=3))
        task = await client.generate(GenerateRequest(prompt="fox", num_outputs=3))
        await client.get_task(task.id)  # completes on the first poll
        assert await refresher.refresh_once()
        assert await ledger.unit_price() == Decimal("0.02")
        assert not await ledger.account_budget_reached()

        eggapi.plan_next(TaskPlan(cost_per_image=Decimal("0.02"), images=1))
        await client.get_task((await client.generate(GenerateRequest(prompt="fox"))).id)
        assert await refresher.refresh_once()  # the account total is now $0.08 of a $0.07 budget
        assert await ledger.account_budget_reached()
        assert await refresher.refresh_once()
        budget_lines = [r for r in caplog.records if "account budget" in r.getMessage() and r.levelno == logging.ERROR]
        assert len(budget_lines) == 1  # told once, not at every refresh

        eggapi.fail_next("GET", r"^/v1/usage/summary$", 503, times=5)
        assert not await refresher.refresh_once()
        assert await ledger.unit_price() == Decimal("0.02")
