"""Unknown submits and refusals-for-now: never guess, never re-post, never drop a job."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

import pytest

from bot.ledger import HoldState, Ledger
from bot.lifecycle._reconcile import Reconciler
from bot.lifecycle.model import TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper
from bot.unconfirmed.desk import OperatorError, UnconfirmedDesk
from testkit.backends import Backend
from testkit.fake_discord import FakeDiscord, FakeMessage, assert_clean
from testkit.fake_eggapi import FakeEggAPI, png_bytes
from testkit.starter import BotStarter
from testkit.world import World

pytestmark = pytest.mark.usefixtures("on_each_backend")


def notices(fake: FakeDiscord, world: World) -> list[FakeMessage]:
    """The messages telling a member their job was released by the operator (their status message, edited)."""
    return [m for m in fake.messages(world.general) if "could not find this job" in m.content]


def lose_two_submits_at_once(eggapi: FakeEggAPI) -> asyncio.Event:
    """The next two submits are made upstream but their answers lost; nobody reads the task list until set.

    Set it once both POSTs are in (``both_out``): a reconcile that read the list between them would
    rightly adopt the only task there, as the second submit was not yet sent.
    """
    eggapi.drop_next("POST", r"^/v1/generate$", times=2)
    return eggapi.hold("GET", r"^/v1/tasks$")


async def both_out(eggapi: FakeEggAPI, listing: asyncio.Event) -> None:
    await eggapi.wait_until(lambda: eggapi.count("POST", "/v1/generate") == 2, timeout=10)
    listing.set()


def told_unconfirmed(fake: FakeDiscord, *, message: FakeMessage) -> bool | None:
    """The member's status ``message`` now says the bot could not confirm the submit."""
    return "could not confirm" in fake.message(message.id).content or None


async def test_two_unknown_submits_at_once_are_not_guessed(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake = world.fake
    other_guild = fake.add_guild("Other Server")
    other_channel = fake.add_channel(other_guild, "art")
    carol = fake.add_member(other_guild, "carol")
    listing = lose_two_submits_at_once(eggapi)  # both created upstream, both answers lost
    bot = await start_bot()
    alice_status = await (await fake.slash(world.alice, world.general, "imagine", prompt="alice's fox")).wait_response()
    await (await fake.slash(carol, other_channel, "imagine", prompt="carol's castle")).wait_response()
    await both_out(eggapi, listing)
    await fake.wait_for(lambda f: "could not confirm" in f.message(alice_status.id).content or None, timeout=10)
    # Nothing was posted anywhere: a wrong guess would show one member's image to another server.
    assert not [m for m in fake.messages(world.general) + fake.messages(other_channel) if m.attachments]
    assert eggapi.count("POST", "/v1/generate") == 2  # and nothing was re-posted
    unconfirmed = await bot.task_store.list_in_states((TaskStatus.UNKNOWN,))
    assert len(unconfirmed) == 2
    for task in unconfirmed:
        hold = await bot.ledger.hold(task.id)
        assert hold is not None and hold.state is HoldState.ACTIVE  # the money stays reserved
    assert any(r.levelno == logging.ERROR and "cannot tell which" in r.getMessage() for r in caplog.records)


async def test_a_busy_eggapi_puts_the_job_back_in_line(world: World, eggapi: FakeEggAPI, start_bot: BotStarter) -> None:
    eggapi.fail_next("POST", r"^/v1/generate$", 429, headers={"Retry-After": "0"}, times=5)  # the client gives up
    bot = await start_bot()
    await world.fake.slash(world.alice, world.general, "imagine", prompt="patient fox")
    result = await world.fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=15)
    [egg_id] = list(eggapi.tasks)
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    assert eggapi.count("POST", "/v1/generate") == 6  # five refusals, then the one that landed
    task = await bot.task_store.get_by_egg_id(egg_id)
    assert task is not None and task.status in (TaskStatus.DELIVERED, TaskStatus.DELIVERING)
    assert not [m for m in world.fake.messages(world.general) if "was not made" in m.content]
    assert_clean(world.fake)


async def test_the_operator_settles_what_the_bot_would_not_guess(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend
) -> None:
    """Two ambiguous submits: the operator adopts one for its member and writes the other off."""
    fake = world.fake
    listing = lose_two_submits_at_once(eggapi)
    bot = await start_bot(EGGBOT_MAX_RUNNING_PER_MEMBER="1")
    alice_status = await (await fake.slash(world.alice, world.general, "imagine", prompt="alice's fox")).wait_response()
    bob_status = await (await fake.slash(world.bob, world.general, "imagine", prompt="bob's castle")).wait_response()
    await both_out(eggapi, listing)
    for status in (alice_status, bob_status):
        await fake.wait_for(partial(told_unconfirmed, message=status), timeout=10)
    alice_task, bob_task = sorted(await bot.task_store.list_in_states((TaskStatus.UNKNOWN,)), key=lambda t: t.id)
    [alice_egg] = [t.id for t in eggapi.tasks.values() if t.request["prompt"] == "alice's fox"]

    # The operator's tools open the same database, beside the running bot.
    async with await backend.open() as db:
        store = TaskStore(db)
        ledger = Ledger(db, bot.ledger.defaults)
        reconciler = Reconciler(store, bot.eggapi, grace=120)
        desk = UnconfirmedDesk(store, Bookkeeper(db, store, ledger), bot.eggapi, reconciler)
        first, _ = await desk.pending()
        assert {egg.id for egg in first.candidates} == set(eggapi.tasks)  # both upstream tasks could be either
        with pytest.raises(OperatorError, match="no task"):
            await desk.release(999)
        await desk.adopt(alice_task.id, alice_egg)
        with pytest.raises(OperatorError, match="belongs to another task"):
            await desk.adopt(bob_task.id, alice_egg)
        with pytest.raises(OperatorError, match="could be task"):  # an upstream task might still be bob's
            await desk.release(bob_task.id)
        await desk.release(bob_task.id, force=True)
        with pytest.raises(OperatorError, match="not unconfirmed"):
            await desk.release(bob_task.id, force=True)

    result = await fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=10)
    assert "alice's fox" in result.content and "bob" not in result.content
    told = await fake.wait_for_message(world.general, lambda m: "could not find this job" in m.content, timeout=10)
    assert world.bob.mention in told.content
    # Bob's place in line is free again (one running job per member): his next job runs.
    await (await fake.slash(world.bob, world.general, "imagine", prompt="bob's second castle")).wait_response()
    await fake.wait_for_message(
        world.general, lambda m: "bob's second castle" in m.content and bool(m.attachments), timeout=10
    )
    assert len(notices(fake, world)) == 1
    alice_hold, bob_hold = await bot.ledger.hold(alice_task.id), await bot.ledger.hold(bob_task.id)
    assert alice_hold is not None and alice_hold.state is HoldState.SETTLED
    assert bob_hold is not None and bob_hold.state is HoldState.RELEASED
    assert_clean(fake)


async def test_a_job_released_while_the_bot_was_away_is_announced_once_it_is_back(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend
) -> None:
    fake = world.fake
    listing = lose_two_submits_at_once(eggapi)  # two look-alike submits: nothing is guessed
    bot = await start_bot()
    statuses = [
        await (await fake.slash(member, world.general, "imagine", prompt=prompt)).wait_response()
        for member, prompt in ((world.alice, "alice's fox"), (world.bob, "bob's lost castle"))
    ]
    await both_out(eggapi, listing)
    for status in statuses:
        await fake.wait_for(partial(told_unconfirmed, message=status), timeout=10)
    task = max(await bot.task_store.list_in_states((TaskStatus.UNKNOWN,)), key=lambda t: t.id)  # bob's
    await start_bot.stop()
    async with await backend.open() as db:  # the operator, while the bot is stopped
        store = TaskStore(db)
        ledger = Ledger(db, bot.ledger.defaults)
        reconciler = Reconciler(store, bot.eggapi, grace=120)
        desk = UnconfirmedDesk(store, Bookkeeper(db, store, ledger), bot.eggapi, reconciler)
        await desk.release(task.id, force=True)
    await start_bot()
    told = await fake.wait_for_message(world.general, lambda m: "could not find this job" in m.content, timeout=10)
    assert world.bob.mention in told.content and told.id == statuses[1].id  # one message: the status, edited
    await start_bot.stop()
    await start_bot()  # a second start tells nobody again
    async with await backend.open() as db:
        [row] = await db.fetchall("SELECT error FROM tasks WHERE id = ?", (task.id,))
    assert row["error"] == "RELEASED_BY_OPERATOR_TOLD"
    assert len(notices(fake, world)) == 1
