"""Reconciling on an EggAPI key that others use too, and on a task list too long to read.

A submit whose answer was lost is matched against ``GET /v1/tasks`` by time, type, model and image
count only. A stranger's task (the dashboard, a second bot) must never be taken for a member's job,
and a list of more than 5,000 tasks must not cost a full scan every minute for ever.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.app.client import EggBot
from bot.ledger import HoldState, Ledger
from bot.lifecycle._reconcile import MAX_PAGES, Reconciler
from bot.lifecycle.model import TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper
from bot.unconfirmed.desk import UnconfirmedDesk
from testkit.backends import AnyTx, Backend
from testkit.fake_discord import FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, png_bytes
from testkit.starter import BotStarter
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")

NEVER_RECEIVED = "never received this request"


def posted(world: World) -> list[FakeMessage]:
    return [m for m in world.fake.messages(world.general) if m.attachments]


async def lost_submit(world: World, eggapi: FakeEggAPI, start_bot: BotStarter, *, created: bool) -> Any:
    """Alice's /imagine whose POST got a 500 (``created``: EggAPI made the task anyway), seen by a reconcile."""
    eggapi.fail_next("POST", r"^/v1/generate$", 500, process=created)
    bot = await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="my own fox")
    await eggapi.wait_for_request(lambda r: r.method == "GET" and r.path == "/v1/tasks", timeout=10)
    return bot


def earlier(stored: str | datetime, delta: timedelta) -> str | datetime:
    """A stored time moved back, kept as the backend stores it (SQLite: ISO text; PostgreSQL: a datetime)."""
    if isinstance(stored, datetime):
        return stored - delta
    return (datetime.fromisoformat(stored) - delta).isoformat(timespec="microseconds")


async def pass_time(backend: Backend, eggapi: FakeEggAPI, start_bot: BotStarter, minutes: int) -> None:
    """Stop the bot and move every recorded time back, on both sides: as if it had been away that long."""
    await start_bot.stop()
    delta = timedelta(minutes=minutes)
    for task in eggapi.tasks.values():
        task.created_at -= delta
        task.started_at = task.started_at and task.started_at - delta
        task.completed_at = task.completed_at and task.completed_at - delta

    def shift(tx: AnyTx) -> None:
        for column in ("created_at", "submitted_at"):
            for row in tx.fetchall(f"SELECT id, {column} FROM tasks WHERE {column} IS NOT NULL"):
                tx.execute(f"UPDATE tasks SET {column} = ? WHERE id = ?", (earlier(row[column], delta), row["id"]))

    async with await backend.open() as db:
        await db.transaction(shift)


async def hold_state(bot: EggBot, task_id: int) -> HoldState:
    hold = await bot.ledger.hold(task_id)
    assert hold is not None
    return hold.state


async def test_a_strangers_bigger_task_is_never_posted_nor_charged(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend
) -> None:
    """D5: another client of the key makes a 3-image task; Alice's 1-image submit got a 500 that made nothing."""
    stranger = eggapi.add_foreign_task("someone else's private image", num_outputs=3)
    bot = await lost_submit(world, eggapi, start_bot, created=False)
    [task] = await bot.task_store.list_in_states((TaskStatus.UNKNOWN,))
    await pass_time(backend, eggapi, start_bot, minutes=10)  # past every window: the evidence is all in
    bot = await start_bot()
    told = await world.fake.wait_for_message(world.general, lambda m: NEVER_RECEIVED in m.content, timeout=15)
    assert world.alice.mention in told.content
    assert not posted(world)  # the stranger's images are nowhere in Alice's channel
    assert not [r for r in eggapi.requests if r.path.startswith(f"/v1/tasks/{stranger.id}")]
    assert eggapi.count("POST", "/v1/generate") == 1  # and nothing was re-posted
    after = await bot.task_store.get(task.id)
    assert after is not None and after.status is TaskStatus.REJECTED and after.egg_task_id is None
    assert await hold_state(bot, task.id) is HoldState.RELEASED  # Alice pays nothing
    assert_clean(world.fake)


async def test_an_unfinished_look_alike_is_not_adopted_before_its_images_are_known(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """A stranger's task still running when Alice's submit is reconciled: wait, and drop it once it shows 3 images."""
    stranger = eggapi.add_foreign_task("someone else's private image", num_outputs=3, outcome=None)
    bot = await lost_submit(world, eggapi, start_bot, created=False)
    await eggapi.wait_for_request(lambda r: r.path == f"/v1/tasks/{stranger.id}", timeout=10)  # looked, did not adopt
    eggapi.finish(stranger.id)
    scans = eggapi.count("GET", "/v1/tasks") - eggapi.count("GET", "/v1/tasks/")
    await eggapi.wait_until(
        lambda: eggapi.count("GET", "/v1/tasks") - eggapi.count("GET", "/v1/tasks/") >= scans + 2, timeout=10
    )  # two more looks at the list, with the stranger's 3 images in it
    [task] = await bot.task_store.list_in_states((TaskStatus.UNKNOWN,))
    assert task.egg_task_id is None and not posted(world)
    assert await hold_state(bot, task.id) is HoldState.ACTIVE


async def test_a_lost_answer_on_a_shared_key_is_left_to_the_operator(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """The key is visibly shared (a stranger's task a quarter of an hour ago): a lone look-alike is not adopted."""
    caplog.set_level(logging.INFO)
    eggapi.add_foreign_task("someone else's private image")
    for foreign in eggapi.tasks.values():
        foreign.created_at -= timedelta(minutes=15)
    bot = await lost_submit(world, eggapi, start_bot, created=True)
    status = (
        await world.fake.wait_for(lambda f: [m for m in f.messages(world.general) if "my own fox" in m.content] or None)
    )[0]
    await world.fake.wait_for(lambda f: "could not confirm" in f.message(status.id).content or None, timeout=10)
    [task] = await bot.task_store.list_in_states((TaskStatus.UNKNOWN,))
    assert await hold_state(bot, task.id) is HoldState.ACTIVE  # reserved, not charged
    assert not posted(world)
    assert any(r.levelno == logging.ERROR and "cannot tell which" in r.getMessage() for r in caplog.records)

    # The operator, who can see prompts in EggAPI's dashboard, names Alice's task: it is posted once.
    [alice_egg] = [t.id for t in eggapi.tasks.values() if t.request["prompt"] == "my own fox"]
    async with await backend.open() as db:
        store = TaskStore(db)
        ledger = Ledger(db, bot.ledger.defaults)
        reconciler = Reconciler(store, bot.eggapi, grace=120)
        desk = UnconfirmedDesk(store, Bookkeeper(db, store, ledger), bot.eggapi, reconciler)
        [pending] = await desk.pending()
        assert [egg.id for egg in pending.candidates] == [alice_egg]  # the stranger's task is outside the window
        await desk.adopt(task.id, alice_egg)
    result = await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=10)
    assert [a.data for a in result.attachments] == [png_bytes(alice_egg, 0)]
    assert eggapi.count("POST", "/v1/generate") == 1
    assert_clean(world.fake)


async def test_a_long_list_newest_first_is_read_only_as_far_as_needed(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend
) -> None:
    """I7: 5,100 old tasks on the key; the list is newest first, so a submit that never landed is still settled."""
    bot = await lost_submit(world, eggapi, start_bot, created=False)
    [task] = await bot.task_store.list_in_states((TaskStatus.UNKNOWN,))
    await pass_time(backend, eggapi, start_bot, minutes=10)
    for second in range(5100):  # the key's history: a task a second, ending three hours before
        eggapi.add_foreign_task(created_at=task.created_at - timedelta(hours=3, seconds=second), outcome="failed")
    before = eggapi.count("GET", "/v1/tasks")
    bot = await start_bot()
    told = await world.fake.wait_for_message(world.general, lambda m: NEVER_RECEIVED in m.content, timeout=15)
    assert world.alice.mention in told.content
    assert eggapi.count("GET", "/v1/tasks") - before == 1  # page 1 already reaches tasks three hours old
    assert await hold_state(bot, task.id) is HoldState.RELEASED
    assert not posted(world)


class _Watch(logging.Handler):
    """Sets an event once ``wanted`` records contain ``text``."""

    def __init__(self, text: str, wanted: int) -> None:
        super().__init__(logging.DEBUG)
        self.text, self.wanted, self.seen = text, wanted, 0
        self.reached = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen += 1
            if self.seen >= self.wanted:
                self.reached.set()


async def test_a_long_list_in_no_usable_order_is_scanned_rarely_and_reported_once(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """I7: over 5,000 tasks listed oldest first: one full scan, the operator told once, then the scans back off."""
    caplog.set_level(logging.DEBUG, logger="bot.lifecycle._reconcile")
    bot = await lost_submit(world, eggapi, start_bot, created=False)
    [task] = await bot.task_store.list_in_states((TaskStatus.UNKNOWN,))
    await pass_time(backend, eggapi, start_bot, minutes=10)
    eggapi.list_order = "oldest"
    for second in range(5100):  # the key's history: a task a second, ending three hours before
        eggapi.add_foreign_task(created_at=task.created_at - timedelta(hours=3, seconds=second), outcome="failed")
    before = eggapi.count("GET", "/v1/tasks")
    watch = _Watch("scanning it again", 5)
    logging.getLogger("bot.lifecycle._reconcile").addHandler(watch)
    try:
        bot = await start_bot()
        status = world.fake.message(task.status_message_id)
        await world.fake.wait_for(lambda f: "could not confirm" in f.message(status.id).content or None, timeout=15)
        await asyncio.wait_for(watch.reached.wait(), 15)  # five more reconcile steps, none of them a scan
    finally:
        logging.getLogger("bot.lifecycle._reconcile").removeHandler(watch)
    assert eggapi.count("GET", "/v1/tasks") - before == MAX_PAGES  # one full scan, not one a step
    told = [r for r in caplog.records if r.levelno >= logging.ERROR and "more than" in r.getMessage()]
    assert len(told) == 1
    assert await hold_state(bot, task.id) is HoldState.ACTIVE  # the operator decides; the hold stays
    assert not posted(world)
