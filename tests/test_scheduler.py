"""The scheduler: supersession, crash retry, the after-step hook, closing."""

from __future__ import annotations

import asyncio

from bot.lifecycle._steps import Scheduler


async def test_a_newer_schedule_supersedes_and_crashes_are_retried() -> None:
    worked: list[int] = []
    three_done = asyncio.Event()
    flaky_done = asyncio.Event()
    attempts = 0

    async def work(task_id: int) -> None:
        worked.append(task_id)
        if len(worked) == 3:
            three_done.set()

    async def flaky(task_id: int) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("boom")  # logged, and tried again after retry_delay
        flaky_done.set()

    after: list[tuple[str, int]] = []
    jobs = Scheduler(
        {"work": work, "flaky": flaky}, {"work": 2}, retry_delay=0.01, after=lambda s, t: after.append((s, t))
    )
    jobs.start()
    jobs.schedule("work", 1, delay=60)
    jobs.schedule("work", 1)  # supersedes the one in a minute
    jobs.schedule("work", 2)
    jobs.schedule("work", 3, delay=0.02)
    jobs.schedule("flaky", 7)
    await asyncio.wait_for(asyncio.gather(three_done.wait(), flaky_done.wait()), 5)
    assert sorted(worked) == [1, 2, 3]  # task 1 ran once, not twice
    assert attempts == 2 and after.count(("flaky", 7)) == 2
    assert not jobs.is_scheduled("work", 1)
    await jobs.close(grace=1)
    assert not jobs.alive
    jobs.schedule("work", 9)  # ignored once closing
    assert not jobs.is_scheduled("work", 9)
