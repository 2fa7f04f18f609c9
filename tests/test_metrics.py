"""``bot.metrics`` on its own: one registry per bot, EggAPI endpoints as labels, scrapes that survive the database."""

from __future__ import annotations

from decimal import Decimal

from prometheus_client import generate_latest
from yarl import URL

from bot.lifecycle.model import TaskStatus
from bot.metrics import Gauges, Metrics


def test_two_bots_in_one_process_keep_their_own_figures() -> None:
    first, second = Metrics(eggapi_base_url="http://127.0.0.1:1"), Metrics(eggapi_base_url="http://127.0.0.1:2")
    first.eggapi_requests.labels("/v1/generate", "202").inc()
    assert b'eggbot_eggapi_requests_total{code="202",endpoint="/v1/generate"} 1.0' in generate_latest(first.registry)
    assert b"eggbot_eggapi_requests_total{" not in generate_latest(second.registry)


def test_endpoints_are_labelled_without_task_ids() -> None:
    metrics = Metrics(eggapi_base_url="https://api.example.com/egg")
    assert metrics.endpoint(URL("https://api.example.com/egg/v1/tasks/gen_abc123")) == "/v1/tasks/{id}"
    assert metrics.endpoint(URL("https://api.example.com/egg/v1/tasks?page=2")) == "/v1/tasks"
    assert metrics.endpoint(URL("https://api.example.com/egg/v1/generate")) == "/v1/generate"
    assert metrics.endpoint(URL("https://api.example.com/egg/v1/usage/summary")) == "/v1/usage/summary"
    assert metrics.endpoint(URL("https://api.example.com/egg/v1/somewhere/new")) == "other"
    assert metrics.endpoint(URL("https://file.example.com/images/gen_abc123/0.png")) == "download"
    assert metrics.endpoint(URL("https://api.example.com/files/gen_abc123/0.png")) == "download"


def test_every_state_is_a_series_and_money_reads_in_dollars() -> None:
    metrics = Metrics(eggapi_base_url="http://127.0.0.1:1")
    metrics.refresh(
        Gauges(
            tasks={TaskStatus.QUEUED: 3, TaskStatus.DELIVERED: 7},
            settled=Decimal("0.07"),
            held=Decimal("0.03"),
            in_flight=4,
        )
    )
    text = generate_latest(metrics.registry).decode()
    assert 'eggbot_tasks{state="queued"} 3.0' in text
    assert 'eggbot_tasks{state="failed"} 0.0' in text
    assert "eggbot_queue_length 3.0" in text
    assert "eggbot_scheduled_steps 4.0" in text
    assert "eggbot_spend_settled_dollars 0.07" in text
    assert "eggbot_spend_held_dollars 0.03" in text
