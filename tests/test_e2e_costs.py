"""What a finished job costs, end to end: odd upstream costs and partial results (D6)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest

from bot.app.client import EggBot
from bot.ledger import HoldState
from bot.lifecycle.model import TaskStatus
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan
from testkit.starter import BotStarter
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")

UNREADABLE = "a cost that cannot be read"


def is_result(message: FakeMessage) -> bool:
    return bool(message.attachments) and not message.ephemeral


async def finished(bot: EggBot, eggapi: FakeEggAPI) -> Any:
    [egg_id] = list(eggapi.tasks)
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None
    return task


@pytest.mark.parametrize("cost_text", ["$0.0100 USD", "0,01", "", "1e-2", "NaN", "-$0.01", None])
async def test_an_unreadable_cost_still_delivers_and_charges_the_estimate(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, caplog: pytest.LogCaptureFixture, cost_text: str | None
) -> None:
    """D6: the images are posted, the member pays price × images made, the odd value is logged once."""
    caplog.set_level(logging.INFO)
    eggapi.plan_next(TaskPlan(cost_per_image=Decimal("0.01"), cost_text=cost_text, omit_cost=cost_text is None))
    bot = await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="two odd foxes", count=2)
    result = await world.fake.wait_for_message(world.general, is_result)
    assert len(result.attachments) == 2
    assert "`2 images · 16:9 · $0.02`" in result.content  # the estimate, in the member's money format

    task = await finished(bot, eggapi)
    await world.fake.wait_for(lambda f: f.messages(world.general) == [result] or None)  # the status message went
    hold = await bot.ledger.hold(task.id)
    assert hold is not None and hold.state is HoldState.SETTLED
    assert (hold.settled, hold.estimated) == (Decimal("0.02"), True)
    assert task.cost == Decimal("0.02")
    assert eggapi.tasks[task.egg_task_id].polls == 1  # finished at the first completed poll, not polled forever

    warnings = [r for r in caplog.records if UNREADABLE in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert (repr(cost_text) if cost_text is not None else "absent") in warnings[0].getMessage()
    for message in world.fake.messages(world.general):
        assert "Traceback" not in message.content
        assert not cost_text or cost_text not in message.content.replace("$0.02", "")
    assert_clean(world.fake, caplog=caplog)


async def test_a_readable_cost_is_settled_as_eggapi_says(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.plan_next(TaskPlan(cost_per_image=Decimal("0.013")))
    bot = await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="two foxes", count=2)
    result = await world.fake.wait_for_message(world.general, is_result)
    assert "`2 images · 16:9 · $0.026`" in result.content
    hold = await bot.ledger.hold((await finished(bot, eggapi)).id)
    assert hold is not None and (hold.settled, hold.estimated) == (Decimal("0.0260"), False)


@pytest.mark.parametrize("cost_text", [None, "NaN"])
async def test_a_partial_result_costs_what_eggapi_made(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, cost_text: str | None
) -> None:
    """3 asked, 1 made: the caption says so and the member pays for 1 (EggAPI's cost, or price × 1)."""
    eggapi.plan_next(TaskPlan(images=1, cost_text=cost_text))
    bot = await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="three foxes", count=3)
    result = await world.fake.wait_for_message(world.general, is_result)
    assert len(result.attachments) == 1
    assert "`1 of 3 images · 16:9 · $0.01`" in result.content
    task = await finished(bot, eggapi)
    assert task.status in (TaskStatus.DELIVERING, TaskStatus.DELIVERED)
    hold = await bot.ledger.hold(task.id)
    assert hold is not None and hold.reserved == Decimal("0.03")
    assert (hold.state, hold.settled, hold.estimated) == (HoldState.SETTLED, Decimal("0.01"), cost_text is not None)
    balance = await (await world.fake.slash(world.alice, world.general, "balance")).wait_response()
    assert "Spent: $0.01 · reserved for running jobs: $0" in balance.content
    assert_clean(world.fake)
