"""A member's own jobs start in the order they asked for them, and their places in line say so.

One job runs at a time (``EGGBOT_MAX_RUNNING_TOTAL=1``) and the fake EggAPI holds each job until the
test finishes it, so the line is what decides. What is checked is what the member sees (each status
message's place in line) and what the image service receives (the prompts, in order).
"""

from __future__ import annotations

from collections.abc import Callable

from testkit.backends import Backend
from testkit.fake_discord import FakeDiscord, FakeMessage, assert_clean
from testkit.fake_discord.interaction import InteractionHandle
from testkit.fake_eggapi import FakeEggAPI, TaskPlan
from testkit.starter import BotStarter
from testkit.world import World

WAIT = 30  # seconds any one awaited event may take on a loaded machine: a limit, never a measurement
LATE = 5  # seconds the answer to one acknowledgement is held back: the others are all answered meanwhile
QUEUED = 4


def place(fake: FakeDiscord, status: FakeMessage) -> str | None:
    """The place in line a status message shows ("#2"), or None."""
    content = fake.message(status.id).content
    for n in range(1, QUEUED + 1):
        if f"#{n} in line" in content:
            return f"#{n}"
    return None


def sent(eggapi: FakeEggAPI, count: int) -> Callable[[], bool]:
    return lambda: len(eggapi.tasks) >= count


async def start(world: World, eggapi: FakeEggAPI, start_bot: BotStarter, backend: Backend) -> None:
    """The bot, one job at a time, and Alice's first job running upstream (held there)."""
    eggapi.default_plan = TaskPlan(hold=True)
    if backend.postgres:
        await start_bot(EGGBOT_MAX_RUNNING_TOTAL="1", DATABASE_URL=await backend.url())
    else:
        await start_bot(EGGBOT_MAX_RUNNING_TOTAL="1")
    await (await world.fake.slash(world.alice, world.general, "imagine", prompt="fox 0")).wait_response()
    await eggapi.wait_until(lambda: len(eggapi.tasks) == 1, timeout=WAIT)


async def finish_in_turn(world: World, eggapi: FakeEggAPI, statuses: list[FakeMessage]) -> None:
    """Places #1 to #4 in the order asked; then each finished job lets the next one go, in that order."""
    fake = world.fake
    expected = [f"#{n}" for n in range(1, QUEUED + 1)]
    await fake.wait_for(lambda f: [place(f, s) for s in statuses] == expected or None, timeout=WAIT)
    for submitted in range(1, QUEUED + 1):  # finish the one running job; the next one is sent upstream
        [running] = [egg_id for egg_id, task in eggapi.tasks.items() if not task.is_terminal]
        eggapi.finish(running)
        await eggapi.wait_until(sent(eggapi, submitted + 1), timeout=WAIT)
    assert [task.request["prompt"] for task in eggapi.tasks.values()] == [f"fox {n}" for n in range(QUEUED + 1)]
    eggapi.finish(list(eggapi.tasks)[-1])
    images = QUEUED + 1  # results may share a post: counted by image
    await fake.wait_for(
        lambda f: sum(len(m.attachments) for m in f.messages(world.general)) == images or None, timeout=WAIT
    )
    assert_clean(fake)


async def test_jobs_asked_all_at_once_start_in_the_order_asked(
    backend: Backend, world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """Alice sends four /imagine before the first is answered: however the bot records and answers them
    (at once, each on its own database connection), they wait and start in the order she sent them."""
    await start(world, eggapi, start_bot, backend)
    handles: list[InteractionHandle] = []
    for n in range(1, QUEUED + 1):
        handles.append(await world.fake.slash(world.alice, world.general, "imagine", prompt=f"fox {n}"))
    statuses = [await handle.wait_response() for handle in handles]
    await finish_in_turn(world, eggapi, statuses)


async def test_a_job_whose_answer_came_late_keeps_its_place_before_later_ones(
    backend: Backend, world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    """Alice asks four times, one after the other, each answered before the next. Discord's answer to the bot's
    first acknowledgement comes late, after the three others were answered and joined the line: the first
    job still waits first, and starts first."""
    fake = world.fake
    await start(world, eggapi, start_bot, backend)
    late = fake.answer_late("POST", r"^/interactions/\d+/[^/]+/callback$", LATE)
    statuses: list[FakeMessage] = []
    for n in range(1, QUEUED + 1):
        statuses.append(
            await (await fake.slash(world.alice, world.general, "imagine", prompt=f"fox {n}")).wait_response()
        )
    assert late.hits == 1
    await fake.wait_for(lambda f: all(place(f, s) for s in statuses[1:]) or None, timeout=WAIT)
    assert place(fake, statuses[0]) is None  # the first job was not in line yet: the bot still awaited the answer
    await finish_in_turn(world, eggapi, statuses)
