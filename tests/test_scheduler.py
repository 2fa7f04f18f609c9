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


async def test_a_step_runs_for_a_task_once_at_a_time_and_what_fell_due_meanwhile_runs_after() -> None:
    """A poll that falls due while the task's last poll still runs would read it before that one wrote it."""
    running: list[int] = []
    overlaps: list[int] = []
    runs: list[int] = []
    started, release, again, other = asyncio.Event(), asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def poll(task_id: int) -> None:
        if task_id in running:
            overlaps.append(task_id)
        running.append(task_id)
        runs.append(task_id)
        try:
            if task_id == 2:
                other.set()
            elif runs.count(1) == 1:
                started.set()
                await release.wait()
            else:
                again.set()
        finally:
            running.remove(task_id)

    jobs = Scheduler({"poll": poll}, {"poll": 4}, retry_delay=0.01)
    jobs.start()
    jobs.schedule("poll", 1)
    await asyncio.wait_for(started.wait(), 5)
    jobs.schedule("poll", 1)  # due now, while the first still runs
    jobs.schedule("poll", 1)  # and again: one more run, not two
    jobs.schedule("poll", 2)  # another task's, due after them: it runs alongside
    await asyncio.wait_for(other.wait(), 5)
    assert runs == [1, 2] and jobs.is_scheduled("poll", 1)  # task 1's next run waits for its first to end
    release.set()
    await asyncio.wait_for(again.wait(), 5)
    await jobs.close(1.0)
    assert runs == [1, 2, 1] and overlaps == [] and jobs.in_flight == 0
