"""FakeEggAPI: the aiohttp server, its task control, fault injection and observation.

The package docstring (:mod:`testkit.fake_eggapi`) is the guide to the API it imitates.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from .inputs import InputFetch, fetch_inputs
from .models import FakeTask, Fault, RecordedRequest, TaskPlan, WebhookDelivery, png_bytes
from .validation import BadType, validate_generate

DEFAULT_API_KEY = "test-key"
_ENVELOPE_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "UPSTREAM_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
_FILE_PATH = re.compile(r"^/files/images/([^/]+)/(\d+)\.png$")
_TASK_PATH = re.compile(r"^/v1/tasks/([^/]+)$")


def _money(amount: Decimal, places: int) -> str:
    return f"{amount.quantize(Decimal(1).scaleb(-places))}"


def _envelope(data: Any = None, *, status: int = 200, code: str | None = None, message: str = "") -> web.Response:
    error = {"code": code, "message": message} if code else None
    return web.json_response({"data": None if error else data, "error": error}, status=status)


class FakeEggAPI:
    """In-process EggAPI look-alike. See the module docstring for the full behaviour."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        webhook_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.host, self.port = host, port
        self.webhook_secret = webhook_secret
        self.url = ""
        self.default_plan = TaskPlan()
        self.tasks: dict[str, FakeTask] = {}
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.input_fetches: list[InputFetch] = []
        self.insufficient_balance = False
        self.summary_rows: list[dict[str, Any]] | None = None  # served by /v1/usage/summary instead of real totals
        self.time_format: Literal["Z", "offset"] = "Z"
        self.legacy_nulls = False
        self.file_content_type = "image/png"
        self.file_chunked = False
        self.file_padding = 0  # bytes of padding in served PNGs (oversize-image tests)
        self.file_declared_side: int | None = None  # served PNGs claim this side (decompression bombs)
        self.list_order: Literal["newest", "oldest", "shuffled"] = "newest"  # GET /v1/tasks order (undocumented)
        self.foreign_per_list = 0  # another client of the key creates this many tasks before each list read
        self.unlisted: set[str] = set()  # task ids GET /v1/tasks leaves out (a list that misbehaves)
        self.rate_limit: tuple[int, float] | None = None  # (requests, seconds) per key, then 429 + Retry-After
        self.rate_limited = 0  # requests answered 429 by that limit
        self.webhook_timeout = 5.0
        self._plans: deque[TaskPlan] = deque()
        self._recent: deque[float] = deque()  # arrival times of /v1 requests, for ``rate_limit``
        self._faults: list[Fault] = []
        self._seq = 0
        self._cond = asyncio.Condition()
        self._closing = asyncio.Event()
        self._background: set[asyncio.Task[Any]] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on ``host``:``port`` (default 127.0.0.1 and a free port) and set ``self.url``."""
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._client = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Cancel timers and pending deliveries, close the server."""
        self._closing.set()
        for handle in self._timers:
            handle.cancel()
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeEggAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test controls

    def plan_next(self, *plans: TaskPlan) -> None:
        """Queue plans for the next generate calls (one plan per created task)."""
        self._plans.extend(plans)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        code: str | None = None,
        times: int = 1,
        body: str | None = None,
        headers: dict[str, str] | None = None,
        *,
        process: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (see module docstring)."""
        self._faults.append(
            Fault("fail", method.upper(), re.compile(path_regex), times, status, code, body, headers, process=process)
        )

    def drop_next(self, method: str, path_regex: str, times: int = 1) -> None:
        """Perform the next matching request(s), then close the connection unanswered."""
        self._faults.append(Fault("drop", method.upper(), re.compile(path_regex), times))

    def delay_next(self, method: str, path_regex: str, seconds: float, times: int = 1) -> None:
        """Perform the next matching request(s), then wait ``seconds`` before answering."""
        self._faults.append(Fault("delay", method.upper(), re.compile(path_regex), times, seconds=seconds))

    def hold(self, method: str, path_regex: str) -> asyncio.Event:
        """Keep matching requests waiting, not yet performed, until the returned event is set."""
        release = asyncio.Event()
        self._faults.append(Fault("hold", method.upper(), re.compile(path_regex), times=-1, release=release))
        return release

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()

    def finish(
        self,
        task_id: str,
        outcome: Literal["completed", "failed"] | None = None,
        *,
        error: str | None = None,
        images: int | None = None,
    ) -> FakeTask:
        """Finish a non-terminal task now (default: its plan's outcome) and send its webhook."""
        task = self.tasks[task_id]
        if task.is_terminal:
            raise ValueError(f"task {task_id} is already {task.status}")
        self._finish(task, outcome or task.plan.outcome, error=error, images=images)
        return task

    def add_foreign_task(
        self,
        prompt: str = "someone else's private image",
        *,
        num_outputs: int = 1,
        image_urls: tuple[str, ...] = (),
        created_at: datetime | None = None,
        outcome: Literal["completed", "failed"] | None = "completed",
    ) -> FakeTask:
        """A task another client of the same key made (the dashboard, a second bot): no request is recorded.

        ``outcome=None`` leaves it pending; ``created_at`` back-dates it.
        """
        self._seq += 1
        body: dict[str, Any] = {"model": "nanobanana", "prompt": prompt, "num_outputs": num_outputs}
        if image_urls:
            body["image_urls"] = list(image_urls)
        task = FakeTask(
            id=f"gen_{self._seq:012x}",
            model="nanobanana",
            type="image_edit" if image_urls else "image_generate",
            request=body,
            plan=replace(self.default_plan, hold=True),
            num_outputs=num_outputs,
            webhook_url=None,
            created_at=created_at or datetime.now(UTC),
            seq=self._seq,
        )
        self.tasks[task.id] = task
        if outcome is not None:
            self._finish(task, outcome)
        return task

    def count(self, method: str = "*", path_prefix: str = "") -> int:
        """How many requests matched ``method`` (``"*"`` = any) and the path prefix."""
        return len(self.requests_to(method, path_prefix))

    def requests_to(self, method: str = "*", path_prefix: str = "") -> list[RecordedRequest]:
        """The recorded requests matching ``method`` and the path prefix, in arrival order."""
        method = method.upper()
        return [r for r in self.requests if method in ("*", r.method) and r.path.startswith(path_prefix)]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` is true (re-checked on every state change)."""
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(predicate), timeout)

    async def wait_for_request(
        self, predicate: Callable[[RecordedRequest], bool], timeout: float = 5.0
    ) -> RecordedRequest:
        """The first recorded request (past or future) matching ``predicate``."""
        found: list[RecordedRequest] = []

        def check() -> bool:
            found[:] = [r for r in self.requests if predicate(r)][:1]
            return bool(found)

        await self.wait_until(check, timeout)
        return found[0]

    async def wait_for_task_status(self, task_id: str, status: str | Iterable[str], timeout: float = 5.0) -> FakeTask:
        """Wait until the task exists and has (one of) ``status``."""
        wanted = {status} if isinstance(status, str) else set(status)
        await self.wait_until(lambda: task_id in self.tasks and self.tasks[task_id].status in wanted, timeout)
        return self.tasks[task_id]

    async def wait_for_webhooks(self, count: int = 1, timeout: float = 5.0) -> list[WebhookDelivery]:
        """Wait until at least ``count`` webhook deliveries were attempted."""
        await self.wait_until(lambda: len(self.webhook_deliveries) >= count, timeout)
        return list(self.webhook_deliveries)

    async def deliver_webhook(self, task_id: str, *, timestamp: int | None = None) -> WebhookDelivery:
        """POST the webhook of a finished task (again); ``timestamp`` overrides the clock."""
        task = self.tasks[task_id]
        if not task.is_terminal or not task.webhook_url or self._client is None:
            raise ValueError(f"task {task_id} is not finished or has no webhook_url")
        ts = int(time.time()) if timestamp is None else timestamp
        payload = {
            "event": f"task.{task.status}",
            "task_id": task.id,
            "status": task.status,
            "model": task.model,
            "output": {"url": task.output_urls[0]} if task.output_urls else None,
            "error": task.error,
            "cost": _money(task.cost, 6),
            "timestamp": ts,
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-EggAPI-Timestamp": str(ts)}
        if self.webhook_secret:
            mac = hmac.new(self.webhook_secret.encode(), str(ts).encode() + b"." + raw, hashlib.sha256)
            headers["X-EggAPI-Signature"] = "sha256=" + mac.hexdigest()
        status: int | None = None
        error: str | None = None
        try:
            async with self._client.post(
                task.webhook_url, data=raw, headers=headers, timeout=aiohttp.ClientTimeout(total=self.webhook_timeout)
            ) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivery = WebhookDelivery(task.id, str(payload["event"]), task.webhook_url, headers, raw, status, error)
        self.webhook_deliveries.append(delivery)
        self._notify()
        return delivery

    # ------------------------------------------------------------------ task state

    def _notify(self) -> None:
        async def notify() -> None:
            async with self._cond:
                self._cond.notify_all()

        self._spawn(notify())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _on_poll(self, task: FakeTask) -> None:
        task.polls += 1
        if task.is_terminal:
            return
        if task.status == "pending" and task.polls > task.plan.polls_until_processing:
            task.status, task.started_at = "processing", datetime.now(UTC)
            self._notify()
        plan = task.plan
        done = task.polls > plan.polls_until_done
        if task.status == "processing" and done and not plan.hold and plan.duration is None:
            self._finish(task, plan.outcome)

    def _on_timer(self, task_id: str) -> None:
        self._spawn(self._finish_on_time(task_id))

    async def _finish_on_time(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is not None and not task.is_terminal and not task.plan.hold:
            await self._fetch_inputs(task)
            if not task.is_terminal:
                self._finish(task, task.plan.outcome)

    async def _fetch_inputs(self, task: FakeTask) -> None:
        """Download the task's image_urls once, as it starts; a failed download fails the task."""
        urls = task.request.get("image_urls") or []
        if task.inputs_fetched or not urls or task.is_terminal:
            return
        task.inputs_fetched = True
        assert self._client is not None
        fetches, task.inputs, error = await fetch_inputs(self._client, task.id, list(urls))
        self.input_fetches.extend(fetches)
        if error is not None and not task.is_terminal:
            self._finish(task, "failed", error=error)
        self._notify()

    def _finish(self, task: FakeTask, outcome: str, *, error: str | None = None, images: int | None = None) -> None:
        now = datetime.now(UTC)
        task.started_at = task.started_at or now
        task.completed_at = now
        if outcome == "completed":
            count = images if images is not None else task.plan.images
            count = task.num_outputs if count is None else count
            task.output_urls = [f"{self.url}/files/images/{task.id}/{i}.png" for i in range(count)]
            task.cost = task.plan.cost_per_image * count
            task.status = "completed"
        elif outcome == "failed":
            task.status, task.error, task.cost = "failed", error or task.plan.error, Decimal("0")
        else:
            raise ValueError(f"unknown outcome {outcome!r}")
        self._notify()
        if task.webhook_url:
            self._spawn(self.deliver_webhook(task.id))

    def _time(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if self.time_format == "offset":
            return value.astimezone(timezone(timedelta(hours=8))).isoformat(timespec="microseconds")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def task_json(self, task: FakeTask) -> dict[str, Any]:
        """The task object exactly as the fake serves it."""
        out: dict[str, Any] = {"id": task.id, "status": task.status, "model": task.model, "type": task.type}
        if task.status == "completed" and task.output_urls:
            out["output"] = {"url": task.output_urls[0], "urls": list(task.output_urls)}
        elif self.legacy_nulls:
            out["output"] = None
        if task.error is not None or self.legacy_nulls:
            out["error"] = task.error
        out["cost"] = "$" + _money(task.cost, 4) if task.status == "completed" else "$0.00"
        if task.status == "completed" and task.plan.cost_text is not None:
            out["cost"] = task.plan.cost_text
        if task.status == "completed" and task.plan.omit_cost:
            del out["cost"]
        for name in ("created_at", "started_at", "completed_at"):
            value = getattr(task, name)
            if value is not None or self.legacy_nulls:
                out[name] = self._time(value)
        return out

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        self.requests.append(
            RecordedRequest(
                request.method, request.path, dict(request.query), CIMultiDict(request.headers), parsed, body
            )
        )
        self._notify()
        if request.path.startswith("/files/") and "Authorization" in request.headers:
            self.violations.append(f"Authorization header sent to the file host: {request.method} {request.path}")
        limited = self._over_limit(request.path)
        if limited is not None:
            return limited
        fault = self._take_fault(request.method, request.path)
        if fault is not None and fault.release is not None:  # a hold: performed once released
            waits = [asyncio.ensure_future(e.wait()) for e in (fault.release, self._closing)]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
            fault = None
        if fault is not None and fault.kind == "fail" and not fault.process:
            return self._fault_response(fault)
        response = await self._route(request, body)
        if fault is None:
            return response
        if fault.kind == "fail":
            return self._fault_response(fault)
        if fault.kind == "drop":
            if request.transport is not None:
                request.transport.close()
            return response
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), fault.seconds)
        return response

    def _over_limit(self, path: str) -> web.Response | None:
        """429 RATE_LIMITED with Retry-After past ``rate_limit`` requests a window (the API only, not files)."""
        if self.rate_limit is None or not path.startswith("/v1/"):
            return None
        limit, per = self.rate_limit
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - per:
            self._recent.popleft()
        if len(self._recent) < limit:
            self._recent.append(now)
            return None
        self.rate_limited += 1
        wait = self._recent[0] + per - now
        response = _envelope(status=429, code="RATE_LIMITED", message="rate limit exceeded for this API key")
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in list(self._faults):
            if fault.release is not None and fault.release.is_set():
                self._faults.remove(fault)  # a hold that was released
            elif fault.method in ("*", method) and fault.pattern.search(path):
                fault.times -= 1
                if fault.times <= 0 and fault.release is None:
                    self._faults.remove(fault)
                return fault
        return None

    def _fault_response(self, fault: Fault) -> web.Response:
        headers = dict(fault.headers or {})
        if fault.body is not None:
            if not any(k.lower() == "content-type" for k in headers):
                is_html = fault.body.lstrip().startswith("<")
                headers["Content-Type"] = "text/html" if is_html else "text/plain"
            return web.Response(status=fault.status, text=fault.body, headers=headers)
        fallback = "BAD_REQUEST" if fault.status < 500 else "INTERNAL_ERROR"
        code = fault.code or _ENVELOPE_CODES.get(fault.status) or fallback
        response = _envelope(status=fault.status, code=code, message=f"injected fault ({code})")
        response.headers.update(headers)
        return response

    async def _route(self, request: web.Request, body: bytes) -> web.StreamResponse:
        path, method = request.path, request.method
        file_match = _FILE_PATH.match(path)
        if file_match and method in ("GET", "HEAD"):
            return await self._serve_file(request, file_match.group(1), int(file_match.group(2)))
        if not path.startswith("/v1/"):
            return web.Response(status=404, text="Not Found")
        denied = self._check_auth(request.headers.get("Authorization"))
        if denied is not None:
            return denied
        task_match = _TASK_PATH.match(path)
        if method == "POST" and path == "/v1/generate":
            return self._generate(body)
        if method == "GET" and task_match:
            task = self.tasks.get(task_match.group(1))
            if task is None:
                return _envelope(status=404, code="NOT_FOUND", message="task not found")
            await self._observe(task)
            return _envelope(self.task_json(task))
        if method == "GET" and path == "/v1/tasks":
            return await self._list(request)
        if method == "GET" and path == "/v1/usage/summary":
            return _envelope(self._summary())
        if method == "GET" and path == "/v1/usage":
            return self._page(request, self._records(), dict)
        return _envelope(status=404, code="NOT_FOUND", message="route not found")

    async def _observe(self, task: FakeTask) -> None:
        """The task is read (by id, or on a page of the list): a poll-driven plan moves on."""
        if task.status == "pending" and task.polls >= task.plan.polls_until_processing:
            await self._fetch_inputs(task)  # this read starts it
        self._on_poll(task)

    async def _list(self, request: web.Request) -> web.Response:
        """``GET /v1/tasks``: every task of the key (others' too), in ``list_order``; the page served reads them."""
        for _ in range(self.foreign_per_list):
            self.add_foreign_task("another client's task")
        tasks = sorted(
            (t for t in self.tasks.values() if t.id not in self.unlisted),
            key=lambda t: (t.created_at, t.seq),
            reverse=self.list_order != "oldest",
        )
        if self.list_order == "shuffled":
            random.Random(len(self.requests)).shuffle(tasks)
        try:
            page, per_page = int(request.query.get("page", "1")), int(request.query.get("per_page", "20"))
        except ValueError:
            page, per_page = 0, 0  # answered 400 by _page
        if page >= 1 and per_page >= 1:
            start = (page - 1) * min(100, per_page)
            for task in tasks[start : start + min(100, per_page)]:
                await self._observe(task)
        return self._page(request, tasks, self.task_json)

    def _check_auth(self, header: str | None) -> web.Response | None:
        if header is None:
            return _envelope(status=401, code="UNAUTHORIZED", message="Missing Authorization header")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token.strip():
            return _envelope(
                status=401, code="UNAUTHORIZED", message="Invalid Authorization format, expected 'Bearer <token>'"
            )
        if not hmac.compare_digest(token.strip().encode(), self.api_key.encode()):
            return _envelope(status=401, code="UNAUTHORIZED", message="Invalid or inactive API key")
        return None

    def _generate(self, raw: bytes) -> web.Response:
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return _envelope(status=400, code="BAD_REQUEST", message=f"invalid character in JSON body: {exc}")
        if not isinstance(body, dict):
            return _envelope(
                status=400, code="BAD_REQUEST", message="json: cannot unmarshal into Go value of type GenerateRequest"
            )
        try:
            problems = validate_generate(body)
        except BadType as exc:
            return _envelope(status=400, code="BAD_REQUEST", message=str(exc))
        if problems:
            return _envelope(status=400, code="VALIDATION_ERROR", message="\n".join(problems))
        refusal = self._refusal(body)
        if refusal is not None:
            return refusal
        self._seq += 1
        plan = self._plan_for(body)
        task = FakeTask(
            id=f"gen_{self._seq:012x}",
            model=body["model"],
            type="image_edit" if body.get("image_urls") else "image_generate",
            request=body,
            plan=plan,
            num_outputs=body.get("num_outputs") or 1,
            webhook_url=body.get("webhook_url"),
            created_at=datetime.now(UTC),
            seq=self._seq,
        )
        self.tasks[task.id] = task
        self._on_created(task)
        self._notify()
        return _envelope(self.task_json(task), status=202)

    # Hooks for variants (the simulated EggAPI); the defaults are the test fake's behaviour.

    def _refusal(self, body: dict[str, Any]) -> web.Response | None:
        """The answer refusing a valid generate before any task exists, or None to accept it."""
        if self.insufficient_balance:
            return _envelope(status=403, code="INSUFFICIENT_BALANCE", message="Insufficient balance")
        return None

    def _plan_for(self, body: dict[str, Any]) -> TaskPlan:
        """The plan of the task a valid generate creates: the next queued one, else the default."""
        return self._plans.popleft() if self._plans else replace(self.default_plan)

    def _on_created(self, task: FakeTask) -> None:
        """Start the wall-clock timer of a task whose plan has a ``duration``."""
        if task.plan.duration is not None:
            loop = asyncio.get_running_loop()
            self._timers.append(loop.call_later(task.plan.duration, self._on_timer, task.id))

    async def _file_bytes(self, task: FakeTask, index: int) -> bytes:
        """The bytes of output ``index`` of a completed task."""
        return png_bytes(task.id, index, padding=self.file_padding, declared=self.file_declared_side)

    def _page(self, request: web.Request, items: list[Any], render: Callable[[Any], dict[str, Any]]) -> web.Response:
        try:
            page = int(request.query.get("page", "1"))
            per_page = int(request.query.get("per_page", "20"))
        except ValueError:
            return _envelope(status=400, code="BAD_REQUEST", message="invalid page or per_page")
        page, per_page = max(1, page), min(100, max(1, per_page))
        start = (page - 1) * per_page
        pagination = {
            "page": page,
            "per_page": per_page,
            "total": len(items),
            "total_pages": math.ceil(len(items) / per_page),
        }
        return _envelope(
            {"items": [render(item) for item in items[start : start + per_page]], "pagination": pagination}
        )

    def _completed(self) -> list[FakeTask]:
        return sorted((t for t in self.tasks.values() if t.status == "completed"), key=lambda t: t.seq)

    def _summary(self) -> list[dict[str, Any]]:
        if self.summary_rows is not None:
            return self.summary_rows
        rows: dict[str, dict[str, Any]] = {}
        for task in self._completed():
            row = rows.setdefault(task.model, {"units": 0, "cost": Decimal("0"), "count": 0})
            row["units"] += len(task.output_urls)
            row["cost"] += task.cost
            row["count"] += 1
        return [
            {
                "model": model,
                "total_units": row["units"],
                "total_cost": "$" + _money(row["cost"], 4),
                "request_count": row["count"],
            }
            for model, row in sorted(rows.items())
        ]

    def _records(self) -> list[dict[str, Any]]:
        return [
            {
                "id": f"usage_{t.seq:08d}",
                "task_id": t.id,
                "model": t.model,
                "units": len(t.output_urls),
                "cost": "$" + _money(t.cost, 4),
                "created_at": self._time(t.completed_at),
            }
            for t in reversed(self._completed())
        ]

    async def _serve_file(self, request: web.Request, task_id: str, index: int) -> web.StreamResponse:
        task = self.tasks.get(task_id)
        if task is None or task.status != "completed" or index >= len(task.output_urls):
            return web.Response(status=404, text="Not Found")
        data = await self._file_bytes(task, index)
        if not self.file_chunked:
            return web.Response(body=data, headers={"Content-Type": self.file_content_type})
        response = web.StreamResponse(headers={"Content-Type": self.file_content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(data), 16):
            await response.write(data[start : start + 16])
        await response.write_eof()
        return response
