"""The asynchronous EggAPI HTTP client (aiohttp, no Discord code).

``EggAPIClient(session, api_key=...)`` wraps a caller-owned ``aiohttp.ClientSession``
(the client never closes it; the session must carry no default ``Authorization`` header
or auth). Every API call sends ``Authorization: Bearer <key>``, unwraps the
``{"data", "error"}`` envelope and raises an ``EggAPIError`` subclass on failure.

Retry policy (``max_attempts`` counts the first try):

* GETs (``get_task``, ``list_tasks``, ``usage_summary``, ``usage_records``,
  ``download_image``) retry on 429, 5xx and transport errors/timeouts. The delay is the
  ``Retry-After`` header (seconds or HTTP-date) when present, else
  ``min(backoff_cap, backoff_base * 2**(attempt-1))`` scaled by a random factor in
  [0.5, 1.0]. A ``Retry-After`` longer than ``backoff_cap`` is not waited out: the
  ``RateLimited`` error is raised at once with ``retry_after`` set. After the last
  attempt the last error is raised.
* ``generate`` (POST) retries only on 429. A timeout, a dropped connection after
  connecting, any 5xx or a malformed 2xx raises ``SubmitOutcomeUnknown``: a task may exist
  upstream, so never resubmit automatically. ``TransportError`` from ``generate`` means
  the connection could not even be opened (nothing was sent). 4xx errors are raised as is.

Every request, retries and redirects included, first waits for its turn in the ``budget`` (a
:class:`~bot.eggapi._budget.RequestBudget` shared by the whole process, if given) at the priority
of its kind: submits first, then status polls and list pages, downloads, usage summaries. Each
answer is reported back to it: a 429 slows the budget down and pauses it until ``Retry-After``, a
503 pauses it, anything else tells it EggAPI answers normally.

``download_image`` fetches output files *without* any Authorization header (``_downloads``:
checked URLs, bounded redirects to EggAPI's file hosts only, bounded bodies, the type sniffed from
the bytes).

The API key never appears in ``repr()``, logs or exception text (it is redacted from
upstream messages too). Retries are logged at WARNING on ``bot.eggapi._client``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp

from ._budget import Priority, RequestBudget
from ._downloads import FILE_HOSTS, MAX_REDIRECTS, FileFetcher, checked_target, redirect_target
from ._errors import (
    EggAPIClientError,
    EggAPIError,
    MalformedResponse,
    RateLimited,
    SubmitOutcomeUnknown,
    TransportError,
)
from ._http import (
    ERROR_BODY_LIMIT,
    Answer,
    parse_retry_after,
    read_body,
    unwrap,
)
from ._models import DownloadedImage, EggTask, GenerateRequest, TaskPage, UsageRecordPage, UsageRow

__all__ = ["DEFAULT_BASE_URL", "FILE_HOSTS", "MAX_REDIRECTS", "EggAPIClient"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.eggapi.ai"
_API_BODY_LIMIT = 4 * 1024 * 1024
_PARSE_ERRORS = (ValueError, TypeError, KeyError, ArithmeticError)
T = TypeVar("T")


class EggAPIClient:
    """Typed access to the documented EggAPI endpoints. See the module docstring."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        if not api_key or not api_key.strip():
            raise ValueError("api_key must not be empty")
        if max_attempts < 1 or timeout <= 0 or backoff_base < 0 or backoff_cap < 0:
            raise ValueError("max_attempts >= 1, timeout > 0 and non-negative backoff required")
        if "Authorization" in session.headers or session.auth is not None:
            raise ValueError("the session must not carry a default Authorization header or auth")
        self._session = session
        self._key = api_key.strip()
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self.budget = budget
        self._files = FileFetcher(
            session, self._timeout, turn=self._turn, report=self._report, transport=self._transport, redact=self._redact
        )

    @property
    def busy(self) -> bool:
        """Whether EggAPI said it is overloaded (429 or 503) and has not answered normally since."""
        return self.budget is not None and self.budget.busy

    def __repr__(self) -> str:
        return f"EggAPIClient(base_url={self._base_url!r}, api_key='***')"

    __str__ = __repr__

    _redirect_target = staticmethod(redirect_target)  # where a download's redirect may lead (``_downloads``)

    # ------------------------------------------------------------------ endpoints

    async def generate(self, req: GenerateRequest) -> EggTask:
        """``POST /v1/generate``: submit a task (202, status ``pending``). Never resubmits."""
        path = "/v1/generate"
        body = req.to_json()
        attempt = 1
        while True:
            try:
                answer = await self._send("POST", path, Priority.SUBMIT, json_body=body)
            except TransportError as err:
                if err.code == "CONNECT_FAILED":
                    raise
                raise self._unknown(err) from err
            try:
                return EggTask.from_json(self._unwrap(answer, "POST", path))
            except RateLimited as err:
                delay = self._retry_delay(err, attempt)
                if delay is None:
                    raise
                self._log_retry("POST", path, err, attempt, delay)
                await self._sleep(delay)
                attempt += 1
            except EggAPIClientError:
                raise
            except EggAPIError as err:
                raise self._unknown(err) from err
            except _PARSE_ERRORS as exc:
                malformed = MalformedResponse(
                    f"unparseable task in answer: {exc}", status=answer.status, method="POST", path=path
                )
                raise self._unknown(malformed) from exc

    async def get_task(self, task_id: str, *, priority: Priority = Priority.POLL) -> EggTask:
        """``GET /v1/tasks/{id}``. A failed task is returned (HTTP 200), not raised."""
        if not task_id:
            raise ValueError("task_id must not be empty")
        path = f"/v1/tasks/{quote(task_id, safe='')}"
        return self._parse(EggTask.from_json, await self._get(path, priority=priority), path)

    async def list_tasks(self, page: int = 1, per_page: int = 20, *, priority: Priority = Priority.POLL) -> TaskPage:
        """``GET /v1/tasks``; ``page`` >= 1, ``per_page`` clamped to 1..100. No filters exist."""
        path = "/v1/tasks"
        params = {"page": str(max(1, page)), "per_page": str(min(100, max(1, per_page)))}
        return self._parse(TaskPage.from_json, await self._get(path, params, priority=priority), path)

    async def usage_summary(self) -> list[UsageRow]:
        """``GET /v1/usage/summary`` (no query parameters): one row per model; [] = no usage."""
        path = "/v1/usage/summary"
        data = await self._get(path, priority=Priority.BACKGROUND)

        def rows(raw: Any) -> list[UsageRow]:
            if raw is None:
                return []
            if not isinstance(raw, list):
                raise ValueError("usage summary is not an array")
            return [UsageRow.from_json(item) for item in raw]

        return self._parse(rows, data, path)

    async def usage_records(self, page: int = 1, per_page: int = 20) -> UsageRecordPage:
        """``GET /v1/usage``; records stay raw dicts. ``per_page`` clamped to 1..100."""
        path = "/v1/usage"
        params = {"page": str(max(1, page)), "per_page": str(min(100, max(1, per_page)))}
        return self._parse(UsageRecordPage.from_json, await self._get(path, params, priority=Priority.BACKGROUND), path)

    async def download_image(self, url: str, *, max_bytes: int) -> DownloadedImage:
        """Fetch an output file without Authorization (``_downloads``); retried like a GET."""
        target, label = checked_target(url, max_bytes)

        async def once() -> DownloadedImage:
            return await self._files.once(target, label, max_bytes)

        return await self._retrying("GET", label, once)

    # ------------------------------------------------------------------ internals

    async def _get(
        self, path: str, params: Mapping[str, str] | None = None, *, priority: Priority = Priority.POLL
    ) -> Any:
        async def once() -> Any:
            return self._unwrap(await self._send("GET", path, priority, params=params), "GET", path)

        return await self._retrying("GET", path, once)

    async def _retrying(self, method: str, label: str, once: Callable[[], Awaitable[T]]) -> T:
        attempt = 1
        while True:
            try:
                return await once()
            except EggAPIError as err:
                delay = self._retry_delay(err, attempt) if err.retryable else None
                if delay is None:
                    raise
                self._log_retry(method, label, err, attempt, delay)
                await self._sleep(delay)
                attempt += 1

    def _retry_delay(self, err: EggAPIError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        if attempt >= self._max_attempts:
            return None
        if err.retry_after is not None:
            if err.retry_after > self._backoff_cap:
                log.warning(
                    "EggAPI %s %s: Retry-After %.0fs exceeds the backoff cap; giving up",
                    err.method,
                    err.path,
                    err.retry_after,
                )
                return None
            return max(0.0, err.retry_after)
        base = min(self._backoff_cap, self._backoff_base * 2.0 ** (attempt - 1))
        return base * (0.5 + 0.5 * self._rng.random())

    def _log_retry(self, method: str, label: str, err: EggAPIError, attempt: int, delay: float) -> None:
        log.warning(
            "EggAPI %s %s failed (status=%s, code=%s), attempt %d/%d; retrying in %.2fs",
            method,
            label,
            err.status,
            err.code,
            attempt,
            self._max_attempts,
            delay,
        )

    async def _turn(self, priority: Priority) -> float | None:
        """Wait for this request's turn in the shared budget (at once without one); when it was granted."""
        if self.budget is None:
            return None
        return await self.budget.acquire(priority)

    def _report(self, sent_at: float | None, status: int, headers: Mapping[str, str]) -> None:
        """Tell the budget how EggAPI answered: 429 slows it down, 503 pauses it, the rest is normal."""
        if self.budget is None:
            return
        if status in (429, 503):
            retry_after = parse_retry_after(headers.get("Retry-After"))
            self.budget.penalise(retry_after, slow_down=status == 429, sent_at=sent_at)
        elif status < 500:
            self.budget.succeeded(sent_at)

    async def _send(
        self,
        method: str,
        path: str,
        priority: Priority,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Answer:
        """One authenticated request, in its turn; transport failures become TransportError."""
        headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        sent_at = await self._turn(priority)
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                headers=headers,
                params=params,
                json=json_body,
                timeout=self._timeout,
                allow_redirects=False,
                raise_for_status=False,
            ) as resp:
                self._report(sent_at, resp.status, resp.headers)
                ok = 200 <= resp.status < 300
                body = await read_body(resp, _API_BODY_LIMIT if ok else ERROR_BODY_LIMIT, strict=ok)
                if body is None:
                    raise MalformedResponse("response body too large", status=resp.status, method=method, path=path)
                return Answer(resp.status, resp.headers, body)
        except aiohttp.ClientConnectorError as exc:
            raise self._transport(exc, method, path, code="CONNECT_FAILED") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._transport(exc, method, path) from exc

    def _unwrap(self, answer: Answer, method: str, path: str) -> Any:
        return unwrap(answer, method, path, self._redact)

    def _parse(self, parser: Callable[[Any], T], data: Any, path: str) -> T:
        try:
            return parser(data)
        except _PARSE_ERRORS as exc:
            raise MalformedResponse(f"unexpected data shape: {exc}", status=200, method="GET", path=path) from exc

    def _transport(self, exc: BaseException, method: str, path: str, code: str | None = None) -> TransportError:
        if isinstance(exc, TimeoutError):
            text, code = f"timed out after {self._timeout.total}s", code or "TIMEOUT"
        else:
            text = f"{type(exc).__name__}: {exc}"
        return TransportError(self._redact(text), code=code, method=method, path=path)

    def _unknown(self, err: EggAPIError) -> SubmitOutcomeUnknown:
        return SubmitOutcomeUnknown(
            f"outcome of submit unknown after {err.code}: {err.message}",
            cause=err,
            status=err.status,
            method="POST",
            path="/v1/generate",
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***")
