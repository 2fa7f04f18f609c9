"""The polling schedule: few requests for a typical task, found soon after it finishes."""

from __future__ import annotations

from bot.polling import DurationEstimate, next_poll_delay


def schedule(duration: float, estimate: float, first: float = 2.0, step: float = 1.5, ceiling: float = 15.0) -> list[float]:
    """Poll times until a task of ``duration`` seconds is seen finished."""
    times, now = [first], first
    while now < duration:
        now += next_poll_delay(now, estimate, step=step, ceiling=ceiling)
        times.append(now)
    return times


def test_a_twelve_second_task_takes_few_polls_and_is_seen_quickly() -> None:
    for estimate in (10.0, 12.0, 14.0):  # a cold estimate, a learnt one, a pessimistic one
        times = schedule(12.0, estimate)
        assert len(times) <= 6, (estimate, times)
        assert times[-1] - 12.0 <= 1.5, (estimate, times)


def test_overdue_tasks_back_off_to_the_ceiling() -> None:
    times = schedule(300.0, 10.0)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    overdue = gaps[6:]  # after the jump and the window around the estimate
    assert overdue == sorted(overdue) and max(gaps) == 15.0
    assert len(times) < 40


def test_the_estimate_learns() -> None:
    estimate = DurationEstimate()
    for _ in range(20):
        estimate.observe(20.0)
    assert 19.5 < estimate.value <= 20.0
    estimate.observe(0)  # nonsense is ignored
    assert estimate.value > 19.5


def test_each_kind_of_task_has_its_own_estimate() -> None:
    from bot.polling import DurationEstimates

    estimates = DurationEstimates(initial=10.0)
    big, small = (4, "4k", "image_generate"), (1, "1k", "image_generate")
    for _ in range(5):
        estimates.observe(big, 30.0)
        estimates.observe(small, 6.0)
    assert estimates.expected(big) == 30.0 and estimates.expected(small) == 6.0
    assert 6.0 < estimates.expected((2, None, "image_edit")) < 30.0  # unseen: the overall estimate
