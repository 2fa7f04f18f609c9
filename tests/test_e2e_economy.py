"""Request economy, end to end: running jobs followed through a few reads of EggAPI's task list, one
request budget for everything, the busy line members read, and status edits on phase changes only.

Asserted on what EggAPI received (the fake's request log) and what members see in the fake Discord.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app.client import EggBot
from bot.lifecycle.model import TaskStatus
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan
from testkit.starter import BotStarter
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")

# Sweeps every 50 ms; a task no sweep showed for 10 s would be polled on its own: so any GET of one
# task below is the bot deciding the list could not vouch for it, never a slow test machine.
SWEEPS = {"EGGBOT_LIST_INTERVAL": "0.05", "EGGBOT_POLL_INTERVAL_MIN": "0.05", "EGGBOT_POLL_INTERVAL_MAX": "10"}
# Where the list cannot vouch for a task, it is polled on its own, here at least once a second.
FALLBACK = {**SWEEPS, "EGGBOT_POLL_INTERVAL_MAX": "1"}
ROOMY = {"EGGBOT_MAX_RUNNING_TOTAL": "40", "EGGBOT_MAX_RUNNING_PER_MEMBER": "40", "EGGBOT_MAX_QUEUED_PER_MEMBER": "40"}


async def start(start_bot: BotStarter, *groups: Mapping[str, str], **env: str) -> EggBot:
    """Start the bot with these groups of settings, then ``env``."""
    settings: dict[str, Any] = {name: value for group in groups for name, value in group.items()} | env
    return await start_bot(**settings)


def list_reads(eggapi: FakeEggAPI) -> list[dict[str, str]]:
    """The query of every ``GET /v1/tasks`` (a page of the list), in order."""
    return [r.query for r in eggapi.requests if r.method == "GET" and r.path == "/v1/tasks"]


def task_gets(eggapi: FakeEggAPI, egg_id: str | None = None) -> int:
    """``GET /v1/tasks/{id}`` requests: of one task, or of any."""
    prefix = f"/v1/tasks/{egg_id}" if egg_id else "/v1/tasks/"
    return sum(1 for r in eggapi.requests if r.method == "GET" and r.path.startswith(prefix))


def count_delivered(bot: EggBot) -> list[int]:
    """A live list of the tasks that reach ``delivered`` (subscribe before the work starts)."""
    delivered: list[int] = []
    bot.task_store.add_listener(lambda tid, new: delivered.append(tid) if new is TaskStatus.DELIVERED else None)
    return delivered


def posted(prompt: str) -> Callable[[FakeMessage], bool]:
    """A result message for this prompt."""
    return lambda message: bool(message.attachments) and prompt in message.content


async def start_jobs(world: World, eggapi: FakeEggAPI, count: int, prefix: str = "fox") -> list[str]:
    """``count`` /imagine from alice; the EggAPI ids once every task is running there."""
    for i in range(count):
        await (await world.fake.slash(world.alice, world.general, "imagine", prompt=f"{prefix} {i}")).wait_ack()
    await eggapi.wait_until(
        lambda: sum(1 for t in eggapi.tasks.values() if t.request.get("prompt", "").startswith(prefix)) == count,
        timeout=20,
    )
    return [t.id for t in eggapi.tasks.values() if t.request.get("prompt", "").startswith(prefix)]


async def test_thirty_running_jobs_are_followed_with_one_list_read_a_sweep(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.default_plan = TaskPlan(hold=True)
    bot = await start(start_bot, SWEEPS, ROOMY)
    delivered = count_delivered(bot)
    ours = await start_jobs(world, eggapi, 30)
    await eggapi.wait_until(lambda: all(eggapi.tasks[e].status == "processing" for e in ours), timeout=10)
    before = len(list_reads(eggapi))
    await eggapi.wait_until(lambda: len(list_reads(eggapi)) >= before + 20, timeout=20)  # twenty sweeps of all 30
    assert task_gets(eggapi) == 0  # not one GET per task: the list showed them all
    assert {(q["page"], q["per_page"]) for q in list_reads(eggapi)} == {("1", "100")}  # one page a sweep
    for egg_id in ours:
        eggapi.finish(egg_id)
    await world.fake.wait_for(lambda f: len(delivered) == 30 or None, timeout=20)
    assert sorted(delivered) == list(range(1, 31))  # each posted once
    assert task_gets(eggapi) == 0 and eggapi.count("POST", "/v1/generate") == 30
    assert_clean(world.fake)


async def test_a_sweep_reads_as_deep_as_the_followed_tasks_and_no_deeper(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """Others' tasks above ours cost pages; the long history below ours costs none."""
    eggapi.default_plan = TaskPlan(hold=True)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    for i in range(500):  # the key's history: the dashboard, last week
        eggapi.add_foreign_task(created_at=hour_ago + timedelta(seconds=i))
    await start(start_bot, SWEEPS)
    ours = await start_jobs(world, eggapi, 3)
    await eggapi.wait_until(lambda: all(eggapi.tasks[e].status == "processing" for e in ours), timeout=10)
    for _ in range(250):  # meanwhile another client of the key makes 250 tasks: ours are on page 3 now
        eggapi.add_foreign_task(outcome=None)
    before = len(list_reads(eggapi))
    await eggapi.wait_until(lambda: len(list_reads(eggapi)) >= before + 15, timeout=20)
    pages = [int(q["page"]) for q in list_reads(eggapi)[before:]]
    assert max(pages) == 3  # page 3 shows ours; pages 4-8 (the history) are never read
    assert pages.count(1) >= 4 and pages.count(3) >= 3  # sweep after sweep, three pages each
    assert task_gets(eggapi) == 0
    for egg_id in ours:
        eggapi.finish(egg_id)
    for _ in ours:
        await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=10)
    assert_clean(world.fake)


async def test_a_task_the_list_leaves_out_is_asked_for_directly(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.default_plan = TaskPlan(hold=True)
    bot = await start(start_bot, FALLBACK)
    delivered = count_delivered(bot)
    first, hidden, last = await start_jobs(world, eggapi, 3)
    eggapi.unlisted.add(hidden)  # the list misbehaves: it should show it between the other two
    await eggapi.wait_until(lambda: task_gets(eggapi, hidden) >= 1, timeout=10)
    for egg_id in (first, hidden, last):
        eggapi.finish(egg_id)
    await world.fake.wait_for(lambda f: len(delivered) == 3 or None, timeout=10)
    assert task_gets(eggapi, first) == task_gets(eggapi, last) == 0  # the list vouched for these
    assert task_gets(eggapi, hidden) >= 2  # polled on its own until it finished
    assert_clean(world.fake)


async def test_a_list_in_no_order_falls_back_to_one_get_per_task(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.default_plan = TaskPlan(hold=True)
    for _ in range(300):
        eggapi.add_foreign_task(created_at=datetime.now(UTC) - timedelta(minutes=5))
    eggapi.list_order = "shuffled"  # the docs promise no order: this one has none
    bot = await start(start_bot, FALLBACK)
    delivered = count_delivered(bot)
    ours = await start_jobs(world, eggapi, 2)
    await eggapi.wait_until(lambda: not bot.tracker.sweeper.trusted, timeout=10)  # three sweeps in a row
    await eggapi.wait_until(lambda: all(task_gets(eggapi, e) >= 1 for e in ours), timeout=10)
    reads = len(list_reads(eggapi))
    for egg_id in ours:
        eggapi.finish(egg_id)
    await world.fake.wait_for(lambda f: len(delivered) == 2 or None, timeout=10)
    assert len(list_reads(eggapi)) == reads  # sweeps pause for a while once the list showed no order
    assert not bot.tracker.sweeper.trusted
    assert_clean(world.fake)


async def test_a_foreign_client_adding_a_few_tasks_changes_nothing(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """Tasks created between two page reads shift the list by a few: repeats are skipped, nothing is lost."""
    eggapi.default_plan = TaskPlan(hold=True)
    eggapi.foreign_per_list = 3
    bot = await start(start_bot, SWEEPS, ROOMY)
    delivered = count_delivered(bot)
    ours = await start_jobs(world, eggapi, 4)
    before = len(list_reads(eggapi))
    await eggapi.wait_until(lambda: len(list_reads(eggapi)) >= before + 10, timeout=10)
    for egg_id in ours:
        eggapi.finish(egg_id)
    await world.fake.wait_for(lambda f: len(delivered) == 4 or None, timeout=10)
    assert task_gets(eggapi) == 0 and bot.tracker.sweeper.trusted
    assert_clean(world.fake)


async def test_a_foreign_client_flooding_the_list_falls_back_to_one_get_per_task(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """More tasks appear between two page reads than a page holds: the list cannot vouch, each task is polled."""
    eggapi.default_plan = TaskPlan(hold=True)
    eggapi.time_format = "offset"  # microseconds: the shift shows as newer tasks on a later page
    bot = await start(start_bot, FALLBACK)
    delivered = count_delivered(bot)
    ours = await start_jobs(world, eggapi, 2)
    await eggapi.wait_until(lambda: all(eggapi.tasks[e].status == "processing" for e in ours), timeout=10)
    eggapi.foreign_per_list = 150
    await eggapi.wait_until(lambda: all(task_gets(eggapi, e) >= 1 for e in ours), timeout=10)
    for egg_id in ours:
        eggapi.finish(egg_id)
    await world.fake.wait_for(lambda f: len(delivered) == 2 or None, timeout=10)
    assert bot.tracker.sweeper.stats.distrusted >= 1
    assert_clean(world.fake)


async def test_the_bot_never_sends_more_than_its_request_budget(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """Submits, list reads and downloads together stay within EGGBOT_EGGAPI_RPS.

    EggAPI here answers 429 past 10 requests in any second: twice the budget, since a request reaches
    it a little after its turn (transit), so two budget windows can meet in one of EggAPI's.
    """
    eggapi.rate_limit = (10, 1.0)
    bot = await start(start_bot, SWEEPS, ROOMY, EGGBOT_EGGAPI_RPS="5")
    delivered = count_delivered(bot)
    for i in range(8):
        await world.fake.slash(world.alice, world.general, "imagine", prompt=f"thrifty fox {i}", count=2)
    await world.fake.wait_for(lambda f: len(delivered) == 8 or None, timeout=40)
    assert eggapi.rate_limited == 0  # without the budget the sweeps alone would ask 20 times a second
    assert bot.eggapi.budget is not None and bot.eggapi.budget.slowdowns == 0
    assert bot.eggapi.budget.granted == len(eggapi.requests)  # every request took its turn, downloads too
    assert_clean(world.fake)


async def test_a_429_slows_the_bot_down_until_eggapi_stops_refusing(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.default_plan = TaskPlan(hold=True)
    eggapi.rate_limit = (4, 1.0)  # EggAPI allows less than the bot's budget of 20 a second
    bot = await start(start_bot, SWEEPS, EGGBOT_EGGAPI_RPS="20")
    budget = bot.eggapi.budget
    assert budget is not None
    delivered = count_delivered(bot)
    ours = await start_jobs(world, eggapi, 3)
    await eggapi.wait_until(lambda: budget.slowdowns >= 1, timeout=10)  # sweeps ten times a second: too many
    refused, asked = eggapi.rate_limited, len(eggapi.requests)
    await eggapi.wait_until(lambda: len(eggapi.requests) >= asked + 15, timeout=30)
    # Each 429 halves the budget (once per overload) and pauses it until Retry-After: a few more
    # at most, where a bot that only waited and came back at the same pace would see most refused.
    assert eggapi.rate_limited - refused <= 4
    assert budget.rate <= 10
    for egg_id in ours:
        eggapi.finish(egg_id)
    await world.fake.wait_for(lambda f: len(delivered) == 3 or None, timeout=30)
    assert_clean(world.fake)


async def test_members_read_that_the_image_service_is_busy_instead_of_queued(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.fail_next("POST", r"^/v1/generate$", 429, times=5)  # every try of the first submit
    await start_bot(EGGBOT_MAX_RUNNING_TOTAL="1")
    alice = await (await world.fake.slash(world.alice, world.general, "imagine", prompt="patient fox")).wait_response()
    bob = await (await world.fake.slash(world.bob, world.general, "imagine", prompt="waiting owl")).wait_response()
    busy = "The image service is busy, retrying"
    await world.fake.wait_for(lambda f: busy in f.message(alice.id).content or None, timeout=10)
    await world.fake.wait_for(lambda f: busy in f.message(bob.id).content or None, timeout=10)
    assert "Queued" not in world.fake.message(bob.id).content and "#1 in line" in world.fake.message(bob.id).content
    assert world.fake.message(bob.id).button("Cancel")  # still waiting: still cancellable
    for prompt in ("patient fox", "waiting owl"):  # EggAPI takes the retry: both are made
        await world.fake.wait_for_message(world.general, posted(prompt))
    assert eggapi.count("POST", "/v1/generate") == 7
    assert_clean(world.fake)


async def test_a_long_job_edits_its_status_on_phase_changes_only(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.default_plan = TaskPlan(hold=True)
    bot = await start_bot(EGGBOT_LIST_INTERVAL="0.02", EGGBOT_STATUS_EDIT_INTERVAL="0.05")
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="slow fox")
    status = await handle.wait_response()
    await eggapi.wait_until(lambda: bool(eggapi.tasks))
    [egg_id] = list(eggapi.tasks)
    await world.fake.wait_for(lambda f: "Generating" in f.message(status.id).content or None)
    reads = len(list_reads(eggapi))
    await eggapi.wait_until(lambda: len(list_reads(eggapi)) >= reads + 60, timeout=20)  # a long wait, many reads
    await asyncio.sleep(0)
    message = world.fake.message(status.id)
    assert message.edits <= 2  # waiting upstream, generating: no clock ticking between reads
    task = await bot.task_store.get(1)
    assert task is not None
    assert f"asked <t:{int(task.created_at.timestamp())}:R>" in message.content  # the app counts for itself
    eggapi.finish(egg_id)
    await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments))
    await world.fake.wait_for(lambda f: f.message(status.id).deleted or None)
    assert world.fake.message(status.id).edits == message.edits  # the result replaced it: no last edit
    assert_clean(world.fake)
