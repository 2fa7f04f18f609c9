"""Foreground: background work yields to interactions being acknowledged, for a bounded time."""

from __future__ import annotations

import asyncio

from bot.lifecycle._steps import Scheduler
from bot.lifecycle.foreground import Foreground


async def test_turn_is_immediate_when_nobody_is_being_answered() -> None:
    foreground = Foreground(max_wait=3600)
    async with asyncio.timeout(5):
        await foreground.turn()
    assert not foreground.busy


async def test_turn_waits_for_every_answer_then_returns() -> None:
    foreground = Foreground(max_wait=3600)
    first, second = foreground.answering(), foreground.answering()
    first.__enter__()
    second.__enter__()
    waiter = asyncio.create_task(foreground.turn())
    first.__exit__(None, None, None)
    for _ in range(20):
        await asyncio.sleep(0)
    assert not waiter.done()  # one answer still being sent
    second.__exit__(None, None, None)
    async with asyncio.timeout(5):
        await waiter
    assert not foreground.busy


async def test_turn_never_waits_longer_than_max_wait() -> None:
    foreground = Foreground(max_wait=0.01)
    with foreground.answering():
        async with asyncio.timeout(5):
            await foreground.turn()  # returns although the answer is still being sent
        assert foreground.busy


async def test_scheduler_steps_start_after_the_answers() -> None:
    foreground = Foreground(max_wait=3600)
    ran = asyncio.Event()

    async def step(_: int) -> None:
        ran.set()

    jobs = Scheduler({"step": step}, {}, retry_delay=1, foreground=foreground)
    jobs.start()
    with foreground.answering():
        jobs.schedule("step", 1)
        for _ in range(20):
            await asyncio.sleep(0)
        assert not ran.is_set()
    async with asyncio.timeout(5):
        await ran.wait()
    await jobs.close(grace=1)
