"""Prometheus metrics (``EGGBOT_METRICS=true``): what an operator graphs and alerts on, at ``GET /metrics``.

One ``Metrics`` per bot, with its own registry (never prometheus_client's global one), so several
bots in one process (tests, the benchmark) keep their figures apart. It is fed three ways:

- HTTP traces (``aiohttp.TraceConfig``): every EggAPI request and its answer on the bot's session
  (``eggapi_trace``), Discord's answers on discord.py's (``discord_trace``: 429s, and how long an
  interaction waited for its acknowledgement, from its creation time in its id);
- ``delivered(task)``, the deliverer's listener: completion → posted;
- ``refresh(source)`` before each scrape: tasks by state and spend, read from the database, and the
  scheduler's load, so the figures are right after a restart too.

Nothing here imports discord, and no label carries a token, a prompt or a member.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.aiohttp import make_aiohttp_handler
from yarl import URL

from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.storage import Storage

log = logging.getLogger(__name__)

__all__ = ["Gauges", "Metrics", "read_gauges"]

DISCORD_EPOCH_MS = 1_420_070_400_000
# Discord wants an acknowledgement within 3 s; the bot's target is far below (see bench/).
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
# EggAPI's completion → the images posted: webhooks aim at well under a second, polling at about one.
DELIVERY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0)
# The EggAPI paths the bot calls, as labels (ids folded away: one series per endpoint, not per task).
_ENDPOINTS = (
    (re.compile(r"^/v1/generate$"), "/v1/generate"),
    (re.compile(r"^/v1/tasks$"), "/v1/tasks"),
    (re.compile(r"^/v1/tasks/[^/]+$"), "/v1/tasks/{id}"),
    (re.compile(r"^/v1/usage/summary$"), "/v1/usage/summary"),
    (re.compile(r"^/v1/usage$"), "/v1/usage"),
)
_CALLBACK = re.compile(r"/interactions/(\d+)/[^/]+/callback$")


@dataclass(frozen=True, slots=True)
class Gauges:
    """What is read afresh for each scrape."""

    tasks: dict[TaskStatus, int]
    settled: Decimal
    held: Decimal
    in_flight: int


GaugeSource = Callable[[], Awaitable[Gauges]]


async def read_gauges(db: Storage, in_flight: Callable[[], int]) -> Gauges:
    """Tasks by state and the ledger's totals, in one read of the database."""
    tasks, settled, held = await db.read(
        lambda tx: (tx.tasks.count_by_status(), tx.ledger.settled_total(), tx.ledger.active_total())
    )
    return Gauges(tasks=tasks, settled=settled, held=held, in_flight=in_flight())


class Metrics:
    """The bot's figures in a registry of its own; see the module docstring."""

    def __init__(self, *, eggapi_base_url: str, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._clock = clock
        base = URL(eggapi_base_url)
        self._eggapi_origin = (base.scheme, base.host, base.port)
        self._eggapi_prefix = base.path.rstrip("/")
        self._api_prefix = self._eggapi_prefix + "/v1/"
        r = self.registry
        self.tasks = Gauge("eggbot_tasks", "Tasks recorded in the database, by state", ["state"], registry=r)
        self.queue_length = Gauge(
            "eggbot_queue_length", "Jobs waiting for their turn to be sent to EggAPI (state queued)", registry=r
        )
        self.in_flight = Gauge(
            "eggbot_scheduled_steps",
            "Steps (submit, poll, deliver, ...) the tracker has scheduled or running",
            registry=r,
        )
        self.ack_latency = Histogram(
            "eggbot_ack_latency_seconds",
            "From an interaction's creation (its id) to Discord's answer to the bot's acknowledgement",
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.delivery_delay = Histogram(
            "eggbot_delivery_delay_seconds",
            "From EggAPI's completion of a job to its images posted (or sent by DM)",
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.eggapi_requests = Counter(
            "eggbot_eggapi_requests",
            "EggAPI requests by endpoint and answer (HTTP status, or timeout / connection for no answer)",
            ["endpoint", "code"],
            registry=r,
        )
        self.eggapi_errors = Counter(
            "eggbot_eggapi_errors",
            "EggAPI requests that failed (HTTP status 400 and above, or no answer), by endpoint and code",
            ["endpoint", "code"],
            registry=r,
        )
        self.spend_settled = Gauge(
            "eggbot_spend_settled_dollars", "Costs settled in the ledger, all time (what EggAPI charged)", registry=r
        )
        self.spend_held = Gauge(
            "eggbot_spend_held_dollars", "Worst cases reserved for jobs not finished yet (active holds)", registry=r
        )
        self.discord_rate_limited = Counter(
            "eggbot_discord_rate_limited",
            "Discord answers with status 429, by X-RateLimit-Scope (user, global, shared)",
            ["scope"],
            registry=r,
        )
        ProcessCollector(registry=r)  # memory, CPU and file descriptors of this process
        self._expose = make_aiohttp_handler(r)

    # -- HTTP traces ----------------------------------------------------------------------------

    def eggapi_trace(self) -> aiohttp.TraceConfig:
        """A trace for the bot's own HTTP session: counts EggAPI requests (downloads as ``download``)."""
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._eggapi_end)
        trace.on_request_exception.append(self._eggapi_exception)
        return trace

    def discord_trace(self) -> aiohttp.TraceConfig:
        """A trace for discord.py's session (``http_trace``): 429s and acknowledgement latency."""
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._discord_end)
        return trace

    def endpoint(self, url: URL) -> str:
        """The label of a URL the session fetched: its EggAPI endpoint, else a file ``download``."""
        if (url.scheme, url.host, url.port) != self._eggapi_origin or not url.path.startswith(self._api_prefix):
            return "download"
        path = url.path[len(self._eggapi_prefix) :]
        return next((label for pattern, label in _ENDPOINTS if pattern.match(path)), "other")

    async def _eggapi_end(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        self._count(self.endpoint(params.url), str(params.response.status), params.response.status >= 400)

    async def _eggapi_exception(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestExceptionParams
    ) -> None:
        code = "timeout" if isinstance(params.exception, TimeoutError) else "connection"
        self._count(self.endpoint(params.url), code, True)

    def _count(self, endpoint: str, code: str, failed: bool) -> None:
        self.eggapi_requests.labels(endpoint, code).inc()
        if failed:
            self.eggapi_errors.labels(endpoint, code).inc()

    async def _discord_end(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        status = params.response.status
        if status == 429:
            self.discord_rate_limited.labels(params.response.headers.get("X-RateLimit-Scope", "unknown")).inc()
        match = _CALLBACK.search(params.url.path)
        if match is not None and status < 400:
            created = ((int(match.group(1)) >> 22) + DISCORD_EPOCH_MS) / 1000
            self.ack_latency.observe(max(0.0, self._clock() - created))

    # -- listeners and the scrape ----------------------------------------------------------------

    def delivered(self, task: TaskRecord) -> None:
        """A job's images are out: observe completion (as EggAPI reported it) → posted (as recorded)."""
        if task.finished_at is not None and task.delivered_at is not None:
            self.delivery_delay.observe(max(0.0, (task.delivered_at - task.finished_at).total_seconds()))

    def refresh(self, gauges: Gauges) -> None:
        """Set the gauges read for this scrape (every state appears, 0 when it has no task)."""
        for status in TaskStatus:
            self.tasks.labels(status.value).set(gauges.tasks.get(status, 0))
        self.queue_length.set(gauges.tasks.get(TaskStatus.QUEUED, 0))
        self.in_flight.set(gauges.in_flight)
        self.spend_settled.set(float(gauges.settled))
        self.spend_held.set(float(gauges.held))

    def handler(self, source: GaugeSource) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The ``GET /metrics`` handler: read the gauges, then answer in Prometheus' text format."""

        async def metrics(request: web.Request) -> web.StreamResponse:
            try:
                self.refresh(await source())
            except Exception:  # the counters are still worth serving; the gauges keep their last values
                log.warning("metrics: the database could not be read for this scrape", exc_info=True)
            return await self._expose(request)

        return metrics
