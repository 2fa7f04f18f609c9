"""The status board: per-channel lanes, coalesced edits, the foreground first, drain at shutdown."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.lifecycle.foreground import Foreground
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.ports import Phase, Progress
from bot.lifecycle.status_board import StatusBoard

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def task(task_id: int, channel_id: int = 10) -> TaskRecord:
    return TaskRecord(
        id=task_id,
        guild_id=1,
        channel_id=channel_id,
        member_id=2,
        prompt="a fox",
        negative_prompt=None,
        aspect_ratio=None,
        count=1,
        resolution=None,
        reference_urls=(),
        status=TaskStatus.RUNNING,
        egg_task_id=None,
        upstream_status=None,
        cost=None,
        error=None,
        output_urls=(),
        status_message_id=1000 + task_id,
        result_message_ids=(),
        created_at=NOW,
        updated_at=NOW,
        submitted_at=None,
        finished_at=None,
        delivered_at=None,
    )


class Recorder:
    """A publisher that records each edit; ``hold`` keeps the next edits in flight until released."""

    def __init__(self) -> None:
        self.edits: list[tuple[int, Phase | None]] = []  # None: the status message was removed
        self.in_flight: dict[int, int] = {}  # channel -> edits in flight
        self.most_in_flight = 0
        self.hold = asyncio.Event()
        self.hold.set()
        self.channel_holds: dict[int, asyncio.Event] = {}  # a hold of one channel only
        self.edited = asyncio.Event()
        self.started = asyncio.Event()  # an edit began

    async def show_progress(self, record: TaskRecord, progress: Progress) -> None:
        self.in_flight[record.channel_id] = self.in_flight.get(record.channel_id, 0) + 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight[record.channel_id])
        self.started.set()
        await self.hold.wait()
        if record.channel_id in self.channel_holds:
            await self.channel_holds[record.channel_id].wait()
        self.in_flight[record.channel_id] -= 1
        self.edits.append((record.id, progress.phase))
        self.edited.set()

    async def remove_status(self, record: TaskRecord) -> bool:
        self.edits.append((record.id, None))
        self.edited.set()
        return True


async def edits_reach(recorder: Recorder, count: int) -> None:
    async with asyncio.timeout(5):
        while len(recorder.edits) < count:
            recorder.edited.clear()
            await recorder.edited.wait()


async def test_quick_changes_collapse_into_one_edit_with_the_newest_text() -> None:
    recorder = Recorder()
    board = StatusBoard(5.0, recorder, settle=0.05)  # type: ignore[arg-type]
    for phase in (Phase.SUBMITTING, Phase.PENDING, Phase.PROCESSING, Phase.DONE):
        board.show(task(1), phase, force=True)
    board.show(task(2), Phase.PENDING, force=True)
    await edits_reach(recorder, 2)
    await board.drain(1)
    assert recorder.edits == [(1, Phase.DONE), (2, Phase.PENDING)]  # first come, first edited; newest text


async def test_one_edit_at_a_time_per_channel_and_waiting_edits_are_replaced() -> None:
    recorder = Recorder()
    board = StatusBoard(5.0, recorder, settle=0.0)  # type: ignore[arg-type]
    recorder.hold.clear()
    board.show(task(1), Phase.PENDING, force=True)
    board.show(task(2, channel_id=20), Phase.PENDING, force=True)  # another channel: its own lane
    async with asyncio.timeout(5):
        while sum(recorder.in_flight.values()) < 2:
            recorder.started.clear()
            await recorder.started.wait()
    for phase in (Phase.PROCESSING, Phase.DONE):  # task 1's edit is in flight: these replace each other
        board.show(task(1), phase, force=True)
    board.show(task(3), Phase.PENDING, force=True)
    recorder.hold.set()
    await edits_reach(recorder, 4)
    await board.drain(1)
    assert recorder.most_in_flight == 1
    assert len(recorder.edits) == 4
    assert set(recorder.edits) == {(1, Phase.PENDING), (1, Phase.DONE), (2, Phase.PENDING), (3, Phase.PENDING)}
    assert recorder.edits.index((1, Phase.DONE)) < recorder.edits.index((3, Phase.PENDING))


async def test_routine_updates_of_a_followed_task_edit_only_what_changed() -> None:
    """No clock ticks: the same text is never sent again, however long ago it was sent."""
    recorder = Recorder()
    board = StatusBoard(0.01, recorder, settle=0.0)  # type: ignore[arg-type]
    board.follow(1)
    board.show(task(1), Phase.PROCESSING)
    await edits_reach(recorder, 1)
    await asyncio.sleep(0.05)  # many edit intervals later
    board.show(task(1), Phase.PROCESSING)  # the same again: nothing to change
    board.show(task(1), Phase.PROCESSING, busy=True)  # what it says changes: an edit
    await edits_reach(recorder, 2)
    board.show(task(1), Phase.DONE)  # a new phase always is
    await edits_reach(recorder, 3)
    await board.drain(1)
    assert recorder.edits == [(1, Phase.PROCESSING), (1, Phase.PROCESSING), (1, Phase.DONE)]


async def test_a_channels_status_edits_stay_within_their_budget_and_removals_go_first() -> None:
    loop = asyncio.get_running_loop()
    recorder = Recorder()
    times: list[float] = []
    original = recorder.show_progress

    async def timed(record: TaskRecord, progress: Progress) -> None:
        times.append(loop.time())
        await original(record, progress)

    recorder.show_progress = timed  # type: ignore[method-assign]
    board = StatusBoard(0.2, recorder, settle=0.0)  # type: ignore[arg-type]
    for task_id in range(1, 8):
        board.show(task(task_id), Phase.PENDING, force=True)
    board.remove(task(9))  # a posted result's status message: not an edit, not held up by them
    await edits_reach(recorder, 8)
    await board.drain(1)
    assert recorder.edits.index((9, None)) <= 3  # went ahead of the edits waiting for the budget
    assert max(sum(1 for t in times if start <= t < start + 0.199) for start in times) == 3  # 3 per interval
    assert sorted(task_id for task_id, _ in recorder.edits) == [1, 2, 3, 4, 5, 6, 7, 9]


async def test_drain_sends_what_waits_without_settling() -> None:
    recorder = Recorder()
    board = StatusBoard(3600.0, recorder, settle=3600.0)  # type: ignore[arg-type]
    board.show(task(1), Phase.DONE, force=True)
    await board.drain(5)
    assert recorder.edits == [(1, Phase.DONE)]


async def test_edits_wait_while_a_member_is_being_answered() -> None:
    foreground = Foreground(max_wait=60)
    recorder = Recorder()
    board = StatusBoard(5.0, recorder, settle=0.0, foreground=foreground)  # type: ignore[arg-type]
    with foreground.answering():
        board.show(task(1), Phase.PENDING, force=True)
        for _ in range(20):  # plenty of turns of the loop: the lane must still be waiting
            await asyncio.sleep(0)
        assert recorder.edits == []
    await edits_reach(recorder, 1)
    await board.drain(1)


async def test_a_late_routine_update_does_not_undo_a_newer_phase() -> None:
    recorder = Recorder()
    board = StatusBoard(5.0, recorder, settle=0.0)  # type: ignore[arg-type]
    board.follow(1)
    board.show(task(1), Phase.DONE, force=True)  # the task finished (a webhook's poll)...
    board.forget(1)
    board.show(task(1), Phase.PROCESSING)  # ...while an older poll was still out: its news is stale
    await board.drain(1)
    assert recorder.edits == [(1, Phase.DONE)]


async def test_drain_waits_for_lanes_started_meanwhile_and_stops_the_rest() -> None:
    recorder = Recorder()
    board = StatusBoard(5.0, recorder, settle=0.0)  # type: ignore[arg-type]
    recorder.channel_holds[10] = asyncio.Event()
    recorder.channel_holds[20] = asyncio.Event()
    board.show(task(1), Phase.PENDING, force=True)
    draining = asyncio.create_task(board.drain(5))
    for _ in range(5):
        await asyncio.sleep(0)  # the drain is waiting for the lanes it knows
    board.show(task(2, channel_id=20), Phase.DONE, force=True)  # a lane that starts during the drain
    recorder.channel_holds[10].set()
    await edits_reach(recorder, 1)
    for _ in range(20):
        await asyncio.sleep(0)
    assert not draining.done()  # the lane started meanwhile is still posting: the drain waits for it
    recorder.channel_holds[20].set()
    await draining
    assert recorder.edits == [(1, Phase.PENDING), (2, Phase.DONE)]
    recorder.hold.clear()  # an edit that never finishes: the drain gives up after its grace
    board.show(task(3), Phase.DONE, force=True)
    await board.drain(0.05)
    assert (3, Phase.DONE) not in recorder.edits


async def test_a_removal_replaces_the_waiting_edit_and_is_recorded() -> None:
    recorder, removed = Recorder(), list[int]()

    async def on_removed(task_id: int) -> None:
        removed.append(task_id)

    board = StatusBoard(3600.0, recorder, settle=0.01, on_removed=on_removed)  # type: ignore[arg-type]
    board.follow(1)
    board.show(task(1), Phase.DELIVERING)
    board.remove(task(1))  # the result is posted: no "Done" edit, the message goes
    board.show(task(1), Phase.DONE, force=True)  # nothing is edited after the removal
    await edits_reach(recorder, 1)
    await asyncio.sleep(0.05)
    assert recorder.edits == [(1, None)] and removed == [1]


async def test_release_waits_for_the_edit_in_flight_and_stops_the_others() -> None:
    recorder = Recorder()
    board = StatusBoard(3600.0, recorder, settle=0.01)  # type: ignore[arg-type]
    recorder.hold.clear()
    board.show(task(1), Phase.PROCESSING, force=True)
    await asyncio.wait_for(recorder.started.wait(), 5)
    board.show(task(1), Phase.STILL_RUNNING, force=True)  # waiting behind the one in flight
    release = asyncio.create_task(board.release(task(1)))
    await asyncio.sleep(0.05)
    assert not release.done()  # the edit in flight would land after the failure notice
    recorder.hold.set()
    await asyncio.wait_for(release, 5)
    board.show(task(1), Phase.FAILED, force=True)
    await asyncio.sleep(0.05)
    assert recorder.edits == [(1, Phase.PROCESSING)]
