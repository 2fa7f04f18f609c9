"""The polling schedule: few requests for a typical task, found soon after it finishes."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from bot.lifecycle._polling import HISTORY, DurationHistory, first_poll_delay, next_poll_delay

SHAPE = (1, None, "image_generate")


def schedule(
    duration: float, durations: Sequence[float], *, first: float = 2.0, step: float = 1.0, ceiling: float = 15.0
) -> list[float]:
    """Poll times until a task of ``duration`` seconds is seen finished."""
    now = first_poll_delay(durations, first=first, step=step)
    times = [now]
    while now < duration:
        now += next_poll_delay(now, durations, step=step, ceiling=ceiling)
        times.append(now)
    return times


def test_a_twelve_second_task_takes_few_polls_and_is_seen_quickly() -> None:
    histories = {
        "fresh": [],  # nothing learnt yet
        "learnt": [10.4, 10.9, 11.3, 11.8, 12.0, 12.1] * 4,
        "mixed": [2.0, 4.0, 6.0, 8.0, 10.0, 12.0] * 4,  # where a running average points at 7 s
        "pessimistic": [14.0] * 5,
        "few fast ones so far": [2.0, 2.0, 4.0],  # a cold start beside quick tasks
    }
    for name, durations in histories.items():
        times = schedule(12.0, durations)
        assert len(times) <= 6, (name, times)
        assert times[-1] - 12.0 <= 1.5, (name, times)


def test_every_task_of_a_mix_is_seen_soon_after_it_finishes() -> None:
    mix = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0] * 4
    for duration in sorted(set(mix)):
        times = schedule(duration, mix)
        assert times[-1] - duration <= 0.5, (duration, times)
        assert len(times) == mix.index(duration) + 1  # one poll per distinct duration up to its own


def test_polls_are_never_closer_than_the_step() -> None:
    dense = [10.0 + i / 10 for i in range(HISTORY)]
    times = schedule(13.0, dense)
    assert all(b - a >= 1.0 for a, b in pairwise(times)), times
    assert times[-1] - 13.0 <= 1.5


def test_overdue_tasks_back_off_to_the_ceiling() -> None:
    times = schedule(300.0, [])
    gaps = [b - a for a, b in pairwise(times)]
    assert gaps[1:] == sorted(gaps[1:]) and max(gaps) == 15.0
    assert len(times) < 40


def test_rare_long_tasks_do_not_keep_polling_dense() -> None:
    """Beyond what nine in ten tasks took, the schedule backs off even if one task once took longer."""
    durations = [10.0] * 22 + [60.0, 61.0]
    times = schedule(61.0, durations)
    assert len(times) < 20, times  # not a poll every second up to a minute


def test_history_is_kept_per_kind_of_task_with_the_overall_as_fallback() -> None:
    history = DurationHistory()
    assert history.durations(SHAPE) == []
    big, small = (4, "4k", "image_generate"), (1, "1k", "image_generate")
    for _ in range(5):
        history.observe(big, 30.0)
        history.observe(small, 6.0)
    history.observe(small, 0)  # nonsense is ignored
    history.observe(small, float("nan"))
    assert history.durations(big) == [30.0] * 5 and history.durations(small) == [6.0] * 5
    assert sorted(set(history.durations((2, None, "image_edit")))) == [6.0, 30.0]  # unseen: all tasks'
    for _ in range(HISTORY * 2):
        history.observe(small, 7.0)
    assert history.durations(small) == [7.0] * HISTORY  # only the recent ones count


def test_a_cold_start_beside_a_mix_of_tasks_costs_no_extra_polls() -> None:
    """A 12 s task submitted as the bot starts, beside tasks of 2-12 s arriving four a second."""
    others = [(i * 0.25, [2.0, 4.0, 6.0, 8.0, 10.0, 12.0][i % 6]) for i in range(80)]

    def seen_by(t: float) -> list[float]:
        return sorted(d for start, d in others if start + d <= t)

    now = first_poll_delay(seen_by(0.0), first=2.0, step=1.0)
    times = [now]
    while now < 12.0:
        now += next_poll_delay(now, seen_by(now), step=1.0, ceiling=15.0)
        times.append(now)
    assert len(times) <= 6 and times[-1] - 12.0 <= 1.5, times


def test_one_stuck_task_among_few_does_not_keep_polling_dense() -> None:
    times = schedule(280.0, [10.0] * 5 + [200.0])
    assert len(times) < 40, times  # backing off after ~10 s, not every 3 s up to 200 s


def test_a_single_long_duration_right_after_a_start_does_not_keep_polling_dense() -> None:
    times = schedule(280.0, [200.0])
    assert len(times) < 40, times  # backing off after the typical 10 s, not every 3 s up to 200 s
