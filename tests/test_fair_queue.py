"""FairQueue: round-robin across members under per-member and global caps."""

from __future__ import annotations

from bot.lifecycle._fair_queue import FairQueue


def drain(queue: FairQueue) -> list[int]:
    started = []
    while (task := queue.pop_ready()) is not None:
        started.append(task)
    return started


def test_a_flooding_member_cannot_starve_the_others() -> None:
    queue = FairQueue(max_running_per_member=3, max_running_total=100)
    for task in range(1, 11):
        queue.push(task, member_id=1)  # member 1 floods
    for member in range(2, 11):
        queue.push(100 + member, member_id=member)  # nine members, one job each
    started = drain(queue)
    assert started[:2] == [1, 102]
    assert set(range(102, 111)) <= set(started)
    assert [t for t in started if t < 100] == [1, 2, 3]  # the flooder is held at 3 running
    assert queue.queued_count(1) == 7


def test_global_cap_and_round_robin_order() -> None:
    queue = FairQueue(max_running_per_member=3, max_running_total=2)
    for task, member in [(1, 1), (2, 1), (3, 1), (4, 2), (5, 3)]:
        queue.push(task, member)
    assert queue.order() == [1, 4, 5, 2, 3]
    assert queue.position(5) == 3
    assert drain(queue) == [1, 4]
    assert queue.pop_ready() is None  # global cap reached
    queue.remove(1)  # task 1 finished
    assert queue.pop_ready() == 5  # member 3's turn comes before member 1's second job
    queue.remove(4)
    assert queue.pop_ready() == 2
    assert queue.position(3) == 1 and queue.position(2) is None


def test_cancelled_tasks_leave_the_line_and_resumed_ones_count() -> None:
    queue = FairQueue(max_running_per_member=1, max_running_total=10)
    queue.mark_running(50, member_id=7)  # resumed after a restart
    queue.push(51, member_id=7)
    queue.push(52, member_id=8)
    queue.remove(52)
    assert queue.pop_ready() is None  # member 7 is at its cap; member 8 cancelled
    queue.remove(50)
    assert queue.pop_ready() == 51
    assert queue.running_total == 1 and queue.order() == []


def test_a_task_the_database_found_no_room_for_is_first_again() -> None:
    """Another process's tasks filled the cap: the popped task keeps its place, and its member their turn."""
    queue = FairQueue(max_running_per_member=3, max_running_total=10)
    for task, member in [(1, 1), (2, 1), (3, 2), (4, 3)]:
        queue.push(task, member)
    assert queue.pop_ready() == 1
    queue.put_back(1, first=True)
    assert queue.running_total == 0 and queue.order() == [1, 3, 4, 2]
    assert drain(queue) == [1, 3, 4, 2]


def test_a_member_full_elsewhere_is_paused_while_the_others_go_on() -> None:
    queue = FairQueue(max_running_per_member=3, max_running_total=10)
    for task, member in [(1, 1), (2, 1), (3, 2)]:
        queue.push(task, member)
    assert queue.pop_ready() == 1
    queue.put_back(1, first=False)  # member 1 runs three jobs in another process
    queue.pause(1)
    assert queue.member_of(1) == 1
    assert drain(queue) == [3]  # member 1 waits; member 2 does not
    assert queue.resume() and not queue.resume()
    assert drain(queue) == [1, 2]


def test_the_member_whose_turn_it_is_across_processes_is_served_next() -> None:
    queue = FairQueue(max_running_per_member=1, max_running_total=10)
    for task, member in [(1, 1), (2, 1), (3, 2), (4, 3), (5, 4)]:
        queue.push(task, member)
    assert queue.pop_ready() == 1
    assert queue.prefer(3)
    assert queue.pop_ready() == 4  # before member 2, whose turn it was here
    assert queue.order() == [3, 5, 2]
    assert not queue.prefer(1)  # at their running limit
    assert not queue.prefer(3)  # nothing queued any more
    queue.pause(4)
    assert not queue.prefer(4)  # full elsewhere
    assert not queue.prefer(99)  # not in this line
    assert queue.pop_ready() == 3


def test_a_members_tasks_wait_in_the_order_asked_not_the_order_pushed() -> None:
    """Pushed out of turn (answered late, recorded on another connection, resumed): each member's own tasks
    still go in the order asked, and the turns across members stay round robin."""
    queue = FairQueue(max_running_per_member=1, max_running_total=1)
    queue.push(13, member_id=1, asked=(903, 13))  # asked third, recorded last
    queue.push(10, member_id=2, asked=(900, 10))
    queue.push(12, member_id=1, asked=(901, 12))  # asked first
    queue.push(11, member_id=1, asked=(902, 11))
    assert queue.order() == [12, 10, 11, 13]
    assert queue.position(13) == 4
    assert queue.pop_ready() == 12
    queue.push(9, member_id=1)  # no interaction: its number says when it was recorded, before the others
    queue.put_back(12, first=True)  # no room after all: back in line, behind the one asked before it
    assert queue.order() == [9, 10, 12, 11, 13]
    queue.remove(9)
    started = []
    while (task := queue.pop_ready()) is not None:
        started.append(task)
        queue.remove(task)  # finished: room for the next
    assert started == [12, 10, 11, 13]
