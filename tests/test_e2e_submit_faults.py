"""A submit whose answer cannot be recorded, a submit EggAPI keeps refusing, and forged webhook hints."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.ledger import HoldState
from bot.lifecycle.model import TaskStatus
from testkit.backends import POSTGRES_ONLY, SQLITE_ONLY, Backend
from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.starter import BotStarter
from testkit.world import World
from tests.test_e2e_webhooks import free_port

pytestmark = pytest.mark.usefixtures("on_each_backend")


class Watch(logging.Handler):
    """Log records of one logger, and an event set when a record matches ``needle``."""

    def __init__(self, needle: str) -> None:
        super().__init__(logging.DEBUG)
        self.needle = needle
        self.records: list[logging.LogRecord] = []
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.needle in record.getMessage():
            self.seen.set()


@pytest.fixture
def scheduler_log() -> Iterator[Watch]:
    watch = Watch("submit step crashed")
    logger = logging.getLogger("bot.lifecycle._steps")
    logger.addHandler(watch)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)


@SQLITE_ONLY  # the fault is SQLite's: another program holding its file's write lock past the busy timeout
async def test_a_database_error_right_after_a_successful_submit_does_not_strand_the_task(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, start_bot: BotStarter, scheduler_log: Watch
) -> None:
    eggapi.delay_next("POST", r"^/v1/generate$", 0.3)  # time to lock the database while the POST is out
    bot = await start_bot()
    handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="a paid fox")
    await eggapi.wait_for_request(lambda r: r.method == "POST" and r.path == "/v1/generate")
    status_id = (await handle.wait_response()).id
    other = sqlite3.connect(tmp_path / "eggbot.db", timeout=10, isolation_level=None)  # a backup tool, say
    try:
        other.execute("BEGIN EXCLUSIVE")  # held past the bot's 5 s busy timeout
        await asyncio.wait_for(scheduler_log.seen.wait(), 15)  # recording EggAPI's answer failed
    finally:
        other.execute("ROLLBACK")
        other.close()
    result = await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=10)
    [egg_id] = list(eggapi.tasks)
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    assert eggapi.count("POST", "/v1/generate") == 1  # recorded from the answer, never re-posted
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None
    await world.fake.wait_for(lambda f: f.message(status_id).deleted or None)
    hold = await bot.ledger.hold(task.id)
    assert hold is not None and hold.state is HoldState.SETTLED
    assert_clean(world.fake)


REFUSE_ANSWERS = [  # the server refuses to record any EggAPI task id: a full disk, a failing replica, say
    "CREATE FUNCTION refuse_answer() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
    "CREATE TRIGGER refuse_answer BEFORE UPDATE OF egg_task_id ON tasks FOR EACH ROW "
    "WHEN (NEW.egg_task_id IS NOT NULL) EXECUTE FUNCTION refuse_answer()",
]


@POSTGRES_ONLY  # SQLite's counterpart is the file lock above (its triggers can only raise constraint errors)
async def test_a_write_the_server_refuses_right_after_a_successful_submit_does_not_strand_the_task(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend, scheduler_log: Watch
) -> None:
    async with await backend.open() as db:
        await db.transaction(lambda tx: [tx.execute(statement) for statement in REFUSE_ANSWERS])
        bot = await start_bot()
        handle = await world.fake.slash(world.alice, world.general, "imagine", prompt="a paid fox")
        status_id = (await handle.wait_response()).id
        await asyncio.wait_for(scheduler_log.seen.wait(), 15)  # recording EggAPI's answer failed
        await db.transaction(lambda tx: tx.execute("DROP TRIGGER refuse_answer ON tasks"))
    result = await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=10)
    [egg_id] = list(eggapi.tasks)
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    assert eggapi.count("POST", "/v1/generate") == 1  # recorded from the answer, never re-posted
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None
    await world.fake.wait_for(lambda f: f.message(status_id).deleted or None)
    hold = await bot.ledger.hold(task.id)
    assert hold is not None and hold.state is HoldState.SETTLED
    assert_clean(world.fake)


async def test_a_submit_eggapi_keeps_refusing_ends_once_without_a_crash(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, scheduler_log: Watch
) -> None:
    eggapi.fail_next("POST", r"^/v1/generate$", 429, "RATE_LIMITED", times=1000)
    bot = await start_bot(EGGBOT_POLL_INTERVAL_MAX="0.02")  # the back-off between tries
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a patient fox")
    told = await world.fake.wait_for_message(world.general, lambda m: "was not made" in m.content, timeout=10)
    assert "busy" in told.content and "Nothing was charged" in told.content
    task = await bot.task_store.get(1)
    assert task is not None and task.status is TaskStatus.REJECTED
    hold = await bot.ledger.hold(1)
    assert hold is not None and hold.state is HoldState.RELEASED
    assert not [r for r in scheduler_log.records if r.levelno >= logging.ERROR]  # no step crashed
    assert_clean(world.fake)


async def test_forged_webhook_hints_cost_neither_memory_nor_eggapi_requests(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    eggapi.default_plan = TaskPlan(hold=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/eggapi/webhook"
    bot = await start_bot(  # no EGGBOT_WEBHOOK_SECRET: every delivery is accepted as a hint
        EGGBOT_WEBHOOK_HOST="127.0.0.1",
        EGGBOT_WEBHOOK_PORT=str(port),
        EGGBOT_WEBHOOK_PUBLIC_URL=url,
        EGGBOT_POLL_INTERVAL_MIN="30",
        EGGBOT_POLL_INTERVAL_MAX="60",
    )
    running = asyncio.Event()
    bot.task_store.add_listener(lambda _, new: running.set() if new is TaskStatus.RUNNING else None)
    await world.fake.slash(world.alice, world.general, "imagine", prompt="a watched fox")
    await asyncio.wait_for(running.wait(), 10)
    [egg_id] = list(eggapi.tasks)
    polls_before = eggapi.count("GET", f"/v1/tasks/{egg_id}")

    def list_reads() -> int:  # GET /v1/tasks (the list), not /v1/tasks/{id}
        return eggapi.count("GET", "/v1/tasks") - eggapi.count("GET", "/v1/tasks/")

    lists_before = list_reads()
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        for n in range(300):  # forged hints naming the running task, and ids nobody knows
            named = egg_id if n % 2 == 0 else f"gen_forged_{n:04d}"
            body = b'{"event": "task.completed", "task_id": "%s"}' % named.encode()
            async with session.post(url, data=body) as response:
                assert response.status == 200
    path = f"/v1/tasks/{egg_id}"
    # Hints are handled after the 200: the task is read by itself, or with others in a read of the list.
    await eggapi.wait_until(lambda: eggapi.count("GET", path) > polls_before or list_reads() > lists_before)
    elapsed = time.monotonic() - started
    polls = eggapi.count("GET", path) - polls_before
    assert polls <= 2 + int(elapsed / 2.0)  # the first hint polls at once, then one per cooldown
    assert bot.tracker.remembered_hints == 0  # nobody awaits a submit answer: unknown ids are dropped

    eggapi.finish(egg_id)  # the genuine delivery still gets the images posted
    await eggapi.wait_for_webhooks(1)
    result = await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=10)
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    assert_clean(world.fake)
