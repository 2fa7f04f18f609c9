"""Reading EggAPI's task list for the tasks a bot follows: checked as it reads, never assumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from bot.eggapi import EggAPIClient, EggTask, TaskPage
from bot.lifecycle._pages import PageScan, Sweep
from bot.lifecycle._sweep import Sweeper

T0 = datetime(2026, 5, 8, 10, 30, tzinfo=UTC)


def egg(name: str, second: float, status: str = "processing") -> EggTask:
    return EggTask(id=name, status=status, created_at=T0 + timedelta(seconds=second))


def page(number: int, *items: EggTask, total_pages: int = 9) -> TaskPage:
    return TaskPage(items=items, page=number, per_page=len(items) or 1, total=0, total_pages=total_pages)


def at(second: float) -> datetime:
    return T0 + timedelta(seconds=second)


def test_one_page_is_enough_when_it_shows_every_followed_task() -> None:
    scan = PageScan({"a": at(50), "b": at(40)})
    assert not scan.add(page(1, egg("x", 60), egg("a", 50), egg("b", 40, "completed"), egg("y", 30)))
    sweep = scan.result()
    assert sweep.trusted and sweep.pages == 1
    assert set(sweep.found) == {"a", "b"} and sweep.found["b"].status == "completed"
    assert sweep.missing == sweep.beyond == frozenset()


def test_reading_goes_on_while_an_older_followed_task_is_not_reached_yet() -> None:
    scan = PageScan({"new": at(90), "old": at(10)})
    assert scan.add(page(1, egg("new", 90), egg("x", 80), egg("y", 70)))  # "old" is further down
    assert scan.add(page(2, egg("z", 60), egg("w", 10)))  # equal times prove nothing: read on
    assert not scan.add(page(3, egg("old", 10), egg("v", 5)))
    assert set(scan.result().found) == {"new", "old"} and scan.result().pages == 3


def test_a_task_the_pages_passed_without_showing_it_is_missing() -> None:
    """Older tasks came, so it should have been there: the tracker asks for it directly."""
    scan = PageScan({"gone": at(50), "here": at(40)})
    assert not scan.add(page(1, egg("x", 60), egg("here", 40), egg("y", 20)))
    sweep = scan.result()
    assert sweep.missing == {"gone"} and sweep.beyond == frozenset() and sweep.trusted


def test_a_task_not_in_a_list_read_to_its_end_is_missing() -> None:
    scan = PageScan({"a": at(50)})
    assert not scan.add(page(1, egg("x", 60), egg("y", 55), total_pages=1))
    assert scan.result().missing == {"a"}


def test_tasks_deeper_than_the_pages_a_sweep_reads_are_beyond_it() -> None:
    """So many newer tasks that reading down to it costs more than polling it on its own."""
    scan = PageScan({"deep": at(1)}, max_pages=2)
    assert scan.add(page(1, egg("x", 90), egg("y", 80)))
    assert not scan.add(page(2, egg("z", 70), egg("w", 60)))
    sweep = scan.result()
    assert sweep.beyond == {"deep"} and sweep.missing == frozenset() and sweep.trusted and sweep.pages == 2


def test_a_shift_by_a_new_task_repeats_an_item_and_is_harmless() -> None:
    """Another client created a task between two page reads: page 2 starts with page 1's last item."""
    scan = PageScan({"ours": at(30)})
    assert scan.add(page(1, egg("n1", 90), egg("n2", 80), egg("n3", 70)))
    assert not scan.add(page(2, egg("n3", 70), egg("ours", 30), egg("old", 20)))
    sweep = scan.result()
    assert sweep.trusted and set(sweep.found) == {"ours"}


def test_a_list_in_no_order_vouches_for_nothing_it_did_not_show() -> None:
    scan = PageScan({"a": at(50), "b": at(10)})
    assert not scan.add(page(1, egg("a", 50), egg("x", 5), egg("y", 60)))  # newer after older: no order
    sweep = scan.result()
    assert not sweep.trusted and set(sweep.found) == {"a"}  # what it showed is still EggAPI's word
    assert sweep.beyond == {"b"} and sweep.missing == frozenset()  # polled on its own schedule, not in a rush


def test_a_shift_by_more_than_a_page_is_caught() -> None:
    """A flood of new tasks between two reads: page 2 shows unseen tasks newer than page 1's."""
    scan = PageScan({"ours": at(10)})
    assert scan.add(page(1, egg("f1", 50), egg("f2", 49)))
    assert not scan.add(page(2, egg("f9", 58), egg("f8", 57)))
    assert not scan.result().trusted


def test_an_item_without_a_creation_time_cannot_be_ordered() -> None:
    scan = PageScan({"a": at(10)})
    assert not scan.add(page(1, egg("x", 50), EggTask(id="y", status="pending")))
    assert not scan.result().trusted


def test_tasks_known_to_be_deep_are_matched_but_not_waited_for() -> None:
    scan = PageScan({"near": at(50), "deep": None})
    assert not scan.add(page(1, egg("near", 50), egg("deep", 49)))
    assert set(scan.result().found) == {"near", "deep"}
    scan = PageScan({"near": at(50), "deep": None})
    assert not scan.add(page(1, egg("near", 50), egg("x", 40)))
    sweep = scan.result()
    assert sweep.missing == sweep.beyond == frozenset()  # "deep" is polled on its own anyway


def test_an_empty_list_ends_the_sweep() -> None:
    scan = PageScan({"a": at(10)})
    assert not scan.add(page(1, total_pages=0))
    assert scan.result().missing == {"a"}


async def test_one_sweep_that_cannot_vouch_is_not_yet_a_list_in_no_order() -> None:
    """A burst of new tasks between two page reads shifts the list once; three sweeps in a row mean no order."""
    told: list[tuple[int, bool]] = []
    sweeper = Sweeper(
        cast(EggAPIClient, None),
        interval=1.0,
        backstop=60.0,
        on_news=lambda *_: None,
        on_unvouched=lambda *a: told.append(a),
    )
    sweeper.follow(7, "ours", at(10), exact=True, status="processing")
    shifted = Sweep(found={}, missing=frozenset(), beyond=frozenset({"ours"}), trusted=False, pages=2)
    sweeper._take(shifted)
    assert sweeper.trusted and told == [(7, False)]  # polled on its own schedule, unless a sweep shows it first
    sweeper._take(
        Sweep(found={"ours": egg("ours", 10)}, missing=frozenset(), beyond=frozenset(), trusted=True, pages=1)
    )
    assert sweeper.covers(7)
    for _ in range(3):
        sweeper._take(shifted)
    assert not sweeper.trusted and not sweeper.covers(7)
