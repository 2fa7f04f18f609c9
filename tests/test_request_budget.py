"""The EggAPI request budget: never more than its rate, submits first, slowed and paused by EggAPI's word."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import aiohttp
import pytest

from bot.eggapi import EggAPIClient, Priority, RateLimited, RequestBudget
from bot.rates import RateWindow
from testkit.fake_eggapi import DEFAULT_API_KEY, FakeEggAPI


def most_in_any_window(times: Sequence[float], window: float) -> int:
    ordered = sorted(times)
    return max((sum(1 for t in ordered[i:] if t < start + window) for i, start in enumerate(ordered)), default=0)


def test_a_rate_window_never_holds_more_than_its_limit() -> None:
    window = RateWindow(3, 5.0)
    granted: list[float] = []
    now = 0.0
    while now < 30:
        at = window.next_at(now)
        if at <= now:
            window.grant(now)
            granted.append(now)
        now += 0.1  # asked ten times a second
    assert most_in_any_window(granted, 5.0) == 3
    assert len(granted) == 18  # and it gives what it may: three per five seconds


def test_below_one_a_second_the_window_widens() -> None:
    window = RateWindow.per_second(0.5)
    assert (window.limit, window.window) == (1, 2.0)
    window.grant(0.0)
    assert window.next_at(0.5) == 2.0
    window.set_rate(20)
    assert (window.limit, window.window) == (20, 1.0)


async def test_never_more_than_the_rate_in_any_second() -> None:
    budget = RequestBudget(20)
    granted = await asyncio.gather(*(budget.acquire(Priority.POLL) for _ in range(50)))
    assert most_in_any_window(granted, 1.0) == 20  # by the budget's own clock: exact, however slow the machine
    assert budget.granted == 50


async def test_waiting_requests_go_by_priority() -> None:
    """Submits and due status reads first, in the order they came; then downloads, one-by-one polls, the rest."""
    budget = RequestBudget(1000)
    budget.penalise(0.05, slow_down=False)  # EggAPI says wait: everything queues up meanwhile
    order: list[Priority] = []

    async def ask(priority: Priority) -> None:
        await budget.acquire(priority)
        order.append(priority)

    kinds = [Priority.BACKGROUND, Priority.DOWNLOAD, Priority.FALLBACK, Priority.POLL, Priority.SUBMIT] * 2
    await asyncio.gather(*(ask(kind) for kind in kinds))
    first = [Priority.POLL, Priority.SUBMIT, Priority.POLL, Priority.SUBMIT]  # one tier, in the order they came
    rest = [Priority.DOWNLOAD, Priority.FALLBACK, Priority.BACKGROUND]
    assert order == first + [kind for kind in rest for _ in range(2)]


async def test_a_429_halves_the_rate_pauses_until_retry_after_and_says_busy() -> None:
    told: list[bool] = []
    budget = RequestBudget(20)
    budget.add_listener(told.append)
    before = await budget.acquire()
    budget.penalise(0.2, slow_down=True)
    assert budget.rate == 10 and budget.busy and told == [True]
    after = await budget.acquire()
    assert after - before >= 0.2  # nothing goes before Retry-After has passed
    budget.succeeded(before)  # an answer to a request sent before the 429 says nothing new
    assert budget.busy
    budget.succeeded(after)
    assert not budget.busy and told == [True, False]


async def test_a_503_pauses_without_slowing_down() -> None:
    budget = RequestBudget(20)
    budget.penalise(None, slow_down=False)  # no Retry-After: the backoff decides
    assert budget.rate == 20 and budget.busy


def test_the_rate_climbs_back_after_a_quiet_while() -> None:
    now = [0.0]
    budget = RequestBudget(20, recovery=10.0, clock=lambda: now[0])
    budget.penalise(0.0, slow_down=True)
    budget.penalise(0.0, slow_down=True)
    assert budget.rate == 5
    now[0] = 9.9
    assert budget.rate == 5
    now[0] = 25.0  # two quiet recovery periods: two tenths of the configured rate back
    assert budget.rate == 9
    now[0] = 1000.0
    assert budget.rate == 20  # never above what the operator set


def test_the_rate_never_drops_below_its_floor() -> None:
    budget = RequestBudget(4, floor=1, clock=lambda: 0.0)
    for _ in range(10):
        budget.penalise(0.0, slow_down=True)
    assert budget.rate == 1


async def test_a_cancelled_wait_gives_its_turn_away() -> None:
    budget = RequestBudget(1000)
    budget.penalise(0.05, slow_down=False)
    waiting = asyncio.create_task(budget.acquire(Priority.SUBMIT))
    await asyncio.sleep(0)
    waiting.cancel()
    granted = await budget.acquire(Priority.BACKGROUND)  # not stuck behind the cancelled one
    assert granted > 0 and budget.waiting == 0


async def test_the_client_reports_eggapis_answers_to_the_budget(eggapi: FakeEggAPI) -> None:
    """Every request waits its turn, a 429's Retry-After holds back the others too, a success ends the spell."""
    budget = RequestBudget(50)
    async with aiohttp.ClientSession() as session:
        client = EggAPIClient(session, api_key=DEFAULT_API_KEY, base_url=eggapi.url, max_attempts=1, budget=budget)
        eggapi.fail_next("GET", r"^/v1/usage/summary$", 429, headers={"Retry-After": "1"})
        with pytest.raises(RateLimited):
            await client.usage_summary()
        limited_at = time.monotonic()
        assert client.busy and budget.rate == 25
        await client.list_tasks()  # another kind of request, waiting out the same pause
        assert eggapi.requests[-1].at - limited_at >= 0.9
        assert not client.busy  # sent after the 429 and answered normally
        assert budget.granted == 2


def test_429s_to_requests_sent_before_a_slowdown_do_not_halve_again() -> None:
    """A burst in flight when EggAPI first refused is one overload, not several."""
    now = [100.0]
    budget = RequestBudget(20, clock=lambda: now[0])
    budget.penalise(0.0, slow_down=True, sent_at=99.9)
    budget.penalise(0.0, slow_down=True, sent_at=99.95)  # sent before the first refusal arrived
    assert budget.rate == 10 and budget.slowdowns == 1
    now[0] = 101.0
    budget.penalise(0.0, slow_down=True, sent_at=100.5)  # sent at the slower pace, refused still
    assert budget.rate == 5 and budget.slowdowns == 2
