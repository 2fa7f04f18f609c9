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

``download_image`` fetches output files *without* any Authorization header, accepts only
``http``/``https`` URLs without credentials and refuses bodies over ``max_bytes``
(``DownloadTooLarge``) while streaming. It follows at most ``MAX_REDIRECTS`` redirects, each
only to the same origin (scheme, host and port) or to an https URL on one of EggAPI's
documented file hosts (``FILE_HOSTS``); any other redirect is refused (``MalformedResponse``,
not retried), so a file URL cannot make the bot fetch, and post, an internal address. The type
is always sniffed from the bytes, whatever the ``Content-Type`` header says: only PNG, JPEG,
WebP and GIF are accepted (no SVG, no HTML), and the file name's extension is the sniffed type's.

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
from yarl import URL

from ._budget import Priority, RequestBudget
from ._errors import (
    DownloadTooLarge,
    EggAPIClientError,
    EggAPIError,
    MalformedResponse,
    RateLimited,
    SubmitOutcomeUnknown,
    TransportError,
)
from ._http import (
    Answer,
    error_from,
    json_or_none,
    parse_retry_after,
    read_body,
    safe_filename,
    sniff_image_type,
    unwrap,
)
from ._models import DownloadedImage, EggTask, GenerateRequest, TaskPage, UsageRecordPage, UsageRow

__all__ = ["DEFAULT_BASE_URL", "FILE_HOSTS", "MAX_REDIRECTS", "EggAPIClient"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.eggapi.ai"
FILE_HOSTS = frozenset({"file.eggapi.ai", "cdn.eggapi.ai"})  # where EggAPI's docs put output files
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_API_BODY_LIMIT = 4 * 1024 * 1024
_ERROR_BODY_LIMIT = 64 * 1024
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

    @property
    def busy(self) -> bool:
        """Whether EggAPI said it is overloaded (429 or 503) and has not answered normally since."""
        return self.budget is not None and self.budget.busy

    def __repr__(self) -> str:
        return f"EggAPIClient(base_url={self._base_url!r}, api_key='***')"

    __str__ = __repr__

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
        """Fetch an output file without Authorization; retried like a GET."""
        try:
            target = URL(url)
        except (ValueError, TypeError) as exc:
            raise ValueError("not a valid URL") from exc
        if target.scheme not in ("http", "https") or not target.host:
            raise ValueError("only absolute http(s) URLs can be downloaded")
        if target.user is not None or target.password is not None:
            raise ValueError("download URLs must not contain credentials")
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        label = str(target.with_query(None).with_fragment(None))

        async def once() -> DownloadedImage:
            return await self._download_once(target, label, max_bytes)

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
                body = await read_body(resp, _API_BODY_LIMIT if ok else _ERROR_BODY_LIMIT, strict=ok)
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

    async def _download_once(self, target: URL, label: str, max_bytes: int) -> DownloadedImage:
        url = target
        for _ in range(MAX_REDIRECTS + 1):
            fetched = await self._fetch_file(url, target, label, max_bytes)
            if isinstance(fetched, DownloadedImage):
                return fetched
            url = self._redirect_target(url, fetched, label)
        raise MalformedResponse(f"more than {MAX_REDIRECTS} redirects", method="GET", path=label)

    @staticmethod
    def _redirect_target(current: URL, location: str, label: str) -> URL:
        """Where a redirect may lead: the same origin, or https on a documented file host."""
        try:
            nxt = current.join(URL(location))
        except (ValueError, TypeError) as exc:
            raise MalformedResponse("redirect to an invalid URL", method="GET", path=label) from exc
        same_origin = (nxt.scheme, nxt.host, nxt.port) == (current.scheme, current.host, current.port)
        file_host = nxt.scheme == "https" and (nxt.host or "").lower() in FILE_HOSTS
        if nxt.user is not None or nxt.password is not None or not (same_origin or file_host):
            raise MalformedResponse(
                f"redirect to {nxt.scheme}://{nxt.host} refused (not the file host)", method="GET", path=label
            )
        return nxt

    async def _fetch_file(self, url: URL, target: URL, label: str, max_bytes: int) -> DownloadedImage | str:
        """One GET of a file, in its turn: the image (named after ``target``), or the ``Location`` of a redirect."""
        sent_at = await self._turn(Priority.DOWNLOAD)
        try:
            async with self._session.get(
                url, timeout=self._timeout, allow_redirects=False, raise_for_status=False
            ) as resp:
                self._report(sent_at, resp.status, resp.headers)
                if resp.status in _REDIRECTS and resp.headers.get("Location"):
                    return resp.headers["Location"]
                if not 200 <= resp.status < 300:
                    body = await read_body(resp, _ERROR_BODY_LIMIT, strict=False) or b""
                    answer = Answer(resp.status, resp.headers, body)
                    raise error_from(answer, json_or_none(body), "GET", label, self._redact)
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise DownloadTooLarge(
                        f"Content-Length {resp.content_length} > {max_bytes}",
                        status=resp.status,
                        method="GET",
                        path=label,
                    )
                data = await read_body(resp, max_bytes, strict=True)
                if data is None:
                    raise DownloadTooLarge(
                        f"body exceeds {max_bytes} bytes", status=resp.status, method="GET", path=label
                    )
                header_type = resp.content_type.lower()
                status = resp.status
        except aiohttp.ClientError as exc:
            raise self._transport(exc, "GET", label) from exc
        except TimeoutError as exc:
            raise self._transport(exc, "GET", label) from exc
        if not data:
            raise MalformedResponse("empty file", status=status, method="GET", path=label)
        content_type = sniff_image_type(data)  # the bytes decide, never the header
        if content_type is None:
            raise MalformedResponse(
                f"file is not a PNG, JPEG, WebP or GIF image (sent as {header_type})",
                status=status,
                method="GET",
                path=label,
            )
        return DownloadedImage(data=data, content_type=content_type, filename=safe_filename(target, content_type))
