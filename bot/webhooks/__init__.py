"""The EggAPI webhook receiver and the ``/healthz`` endpoint, on a small aiohttp server of their own.

API (everything the bot's start-up needs)::

    webhook_path(public_url: str) -> str
        The path EggAPI will POST to, taken from EGGBOT_WEBHOOK_PUBLIC_URL (percent-decoded,
        query and fragment dropped; "/" when the URL has no path).
        webhook_path("https://bot.example.com/eggapi/webhook") == "/eggapi/webhook"

    @dataclass(frozen=True) HealthReport(gateway_connected: bool, database_writable: bool,
                                         tracker_alive: bool, details: dict[str, object] = {})
        .ok -> bool  (all three flags true)

    WebhookServer(*, host: str, port: int, path: str, secret: str | None,
                  on_hint: Callable[[str], Awaitable[object]],
                  health: Callable[[], Awaitable[HealthReport]],
                  clock: Callable[[], float] = time.time, max_skew: float = 300.0,
                  max_body: int = 64 * 1024, dedupe_size: int = 4096,
                  shutdown_timeout: float = 5.0, request_timeout: float = 10.0,
                  max_connections: int = 64, webhooks: bool = True,
                  metrics: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None)
        async start() -> None     bind host:port (port 0 = any free port) and serve
        async stop() -> None      stop serving, then cancel and await pending hints; idempotent
        async drain() -> None     wait until the hints started so far have finished (for tests)
        port -> int               the bound port once started (the configured one before)
        open_connections -> int   connections being served right now (0 before start)
        path -> str               the webhook path being served

Wiring (suggested)::

    server = WebhookServer(host=settings.webhook_host, port=settings.webhook_port,
                           path=webhook_path(settings.webhook_public_url),
                           secret=settings.webhook_secret, on_hint=tracker.hint, health=...)

Whether to start it at all is the caller's decision (while ``settings.webhooks_enabled``, or
for ``/healthz`` alone). With ``webhooks=False`` (health-only mode) the webhook route does not
exist: a POST to ``path`` is a 404 and never reaches the tracker. Deliveries are hints only, so
without a secret the worst a stranger can do is make the tracker poll a running task early.

``POST {path}`` — an EggAPI delivery, checked in this order (2 and 3 in ``_deliveries``):

1. The raw body is read, at most ``max_body`` bytes (Content-Length or streamed) -> else 413.
2. With a ``secret``: ``X-EggAPI-Signature`` and ``X-EggAPI-Timestamp`` must both be present
   -> else 401; the timestamp must be a decimal integer (unix seconds) within ``max_skew``
   seconds of ``clock()`` either way -> else 401; the signature must equal
   ``"sha256=" + hex(HMAC-SHA256(secret UTF-8, b"{timestamp}." + raw body))``, compared with
   ``hmac.compare_digest`` after stripping and lower-casing -> else 401. Without a secret every
   delivery is accepted unauthenticated (EggAPI signs only once a secret exists); a WARNING
   says so once, at the first such delivery.
3. The body must be a JSON object carrying a task id: ``task_id``, else ``id``, else
   ``data.id`` (a non-empty string of at most 256 characters) -> else 400.
4. Duplicates — same (task id, ``event``, timestamp header) as a delivery already seen, kept in
   a bounded LRU of ``dedupe_size`` keys — get 200 ``{"ok": true, "duplicate": true}`` and no
   hint. Anything else gets 200 ``{"ok": true}`` at once, and ``on_hint(task_id)`` runs in a
   background task (its result is logged at DEBUG, an exception at ERROR with its traceback).
   The payload's status, output and cost are never used: the hint only triggers an
   authoritative poll (``Tracker.hint``).

The server faces the internet, so it never waits on a client for long: a connection that has not
sent a complete request head within ``request_timeout`` seconds of opening (or of its previous
answer) is closed, a body not received within ``request_timeout`` more gets 408 and the connection
is closed, and at most ``max_connections`` connections are served at once (lowered to a quarter
of RLIMIT_NOFILE; more are closed as they are accepted, see ``bot.serving``).

Error answers are JSON ``{"ok": false, "error": "<short reason>"}``. Rejections are logged at
WARNING with the reason and the peer address, never the body, the signature or the secret.

``GET /healthz`` (and HEAD) awaits ``health()``: 200 ``{"status": "ok"}`` when all three flags
are true, else 503 ``{"status": "degraded"}`` (also when ``health()`` raises). Anyone can probe
it, so the answer says nothing more: which component failed, and the report's details, go to the
log, where only changes of health are written (WARNING/ERROR when it degrades, INFO when it
recovers) so frequent probes do not flood it. ``GET /metrics`` is served by ``metrics`` when
one is given (``bot.metrics``), else it is a 404 like any other path. Other paths answer 404 and
other methods 405 (aiohttp's defaults).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from aiohttp import web

from bot.serving import CappedSite, connection_cap

from ._deliveries import SIGNATURE_HEADER, TIMESTAMP_HEADER, Rejected, check_signature, parse_delivery

log = logging.getLogger(__name__)

__all__ = ["HEALTH_PATH", "METRICS_PATH", "HealthReport", "WebhookServer", "webhook_path"]

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"  # served only when a handler is given (EGGBOT_METRICS): see bot.metrics


def webhook_path(public_url: str) -> str:
    """The path to serve for a public webhook URL: its decoded path, or "/" when it has none."""
    path = unquote(urlsplit(public_url).path)
    return path if path.startswith("/") else "/" + path


@dataclass(frozen=True, slots=True)
class HealthReport:
    """What ``/healthz`` checks; ``details`` only go to the log (non-JSON values via str)."""

    gateway_connected: bool
    database_writable: bool
    tracker_alive: bool
    details: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every component is healthy."""
        return self.gateway_connected and self.database_writable and self.tracker_alive


class _TooLarge(Exception):
    """The request body is larger than ``max_body``."""


class _TooSlow(Exception):
    """The request body did not arrive within ``request_timeout``."""


class WebhookServer:
    """Receives EggAPI webhooks on ``path`` and serves ``/healthz`` (see the module docstring)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        path: str,
        secret: str | None,
        on_hint: Callable[[str], Awaitable[object]],
        health: Callable[[], Awaitable[HealthReport]],
        clock: Callable[[], float] = time.time,
        max_skew: float = 300.0,
        max_body: int = 64 * 1024,
        dedupe_size: int = 4096,
        shutdown_timeout: float = 5.0,
        request_timeout: float = 10.0,
        max_connections: int = 64,
        webhooks: bool = True,
        metrics: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
    ) -> None:
        if not path.startswith("/"):
            raise ValueError(f"webhook path must start with '/', got {path!r}")
        if path in (HEALTH_PATH, METRICS_PATH):
            raise ValueError(f"webhook path must not be {path}")
        if max_body < 1 or dedupe_size < 1 or max_connections < 1 or max_skew < 0 or request_timeout <= 0:
            raise ValueError(
                "max_body, dedupe_size, max_connections and request_timeout must be positive, max_skew not negative"
            )
        self._host = host
        self._port = port
        self._path = path
        self._secret = secret.encode() if secret else None
        self._on_hint = on_hint
        self._health = health
        self._clock = clock
        self._max_skew = max_skew
        self._max_body = max_body
        self._dedupe_size = dedupe_size
        self._shutdown_timeout = shutdown_timeout
        self._request_timeout = request_timeout
        self._max_connections = max_connections
        self._site: CappedSite | None = None
        self._webhooks = webhooks
        self._metrics = metrics
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._hints: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._warned_unsigned = False
        self._healthy = True  # the last reported health, so only changes are logged

    @property
    def path(self) -> str:
        """The webhook path being served."""
        return self._path

    @property
    def port(self) -> int:
        """The bound port once started (useful with port 0), else the configured one."""
        if self._runner is not None and self._runner.addresses:
            return int(self._runner.addresses[0][1])
        return self._port

    @property
    def open_connections(self) -> int:
        """Connections being served right now."""
        return self._site.open_connections if self._site is not None else 0

    async def start(self) -> None:
        """Bind and start serving."""
        if self._runner is not None:
            raise RuntimeError("webhook server already started")
        app = web.Application(client_max_size=self._max_body)
        if self._webhooks:
            app.router.add_post(self._path, self._handle_webhook)
        app.router.add_get(HEALTH_PATH, self._handle_health)
        if self._metrics is not None:
            app.router.add_get(METRICS_PATH, self._metrics)
        runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=self._shutdown_timeout,
            keepalive_timeout=self._request_timeout,  # also bounds a request head that never completes
            lingering_time=self._request_timeout,  # a body nobody reads is drained this long at most
        )
        await runner.setup()
        cap = connection_cap(self._max_connections)
        site = CappedSite(runner, self._host, self._port, max_connections=cap)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._site = runner, site
        if not self._webhooks:
            served = "webhooks off"
        elif self._secret:
            served = f"POST {self._path}, signed deliveries only"
        else:
            served = f"POST {self._path}, no webhook secret: unsigned deliveries accepted"
        log.info(
            "web server listening on %s:%d (GET %s%s; %s; at most %d connections, %gs to send a request)",
            self._host,
            self.port,
            HEALTH_PATH,
            f", GET {METRICS_PATH}" if self._metrics is not None else "",
            served,
            cap,
            self._request_timeout,
        )

    async def stop(self) -> None:
        """Stop serving, then cancel and await the hints still running. Safe to call twice."""
        runner, self._runner, self._site = self._runner, None, None
        if runner is not None:
            await runner.cleanup()
        pending = list(self._hints)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until every hint started so far has finished (exceptions are already logged)."""
        while self._hints:
            await asyncio.gather(*list(self._hints), return_exceptions=True)

    # -- POST {path} ---------------------------------------------------------------------------

    async def _handle_webhook(self, request: web.Request) -> web.Response:
        try:
            raw = await self._read_body(request)
        except _TooLarge:
            return self._reject(request, Rejected(413, "body too large"))
        except _TooSlow:
            response = self._reject(request, Rejected(408, "body not received in time"))
            response.force_close()
            return response
        try:
            timestamp = self._authenticate(request, raw)
            task_id, event = parse_delivery(raw)
        except Rejected as rejected:
            return self._reject(request, rejected)
        if self._is_duplicate((task_id, event, timestamp)):
            log.info("webhook %s for task %r is a duplicate; ignored", event or "(no event)", task_id)
            return web.json_response({"ok": True, "duplicate": True})
        log.info("webhook %s for task %r accepted; polling it now", event or "(no event)", task_id)
        hint = asyncio.create_task(self._run_hint(task_id), name=f"eggbot-webhook-hint-{task_id}")
        self._hints.add(hint)
        hint.add_done_callback(self._hints.discard)
        return web.json_response({"ok": True})

    async def _read_body(self, request: web.Request) -> bytes:
        length = request.content_length
        if length is not None and length > self._max_body:
            raise _TooLarge
        body = bytearray()
        try:
            async with asyncio.timeout(self._request_timeout):
                async for chunk in request.content.iter_any():
                    body += chunk
                    if len(body) > self._max_body:
                        raise _TooLarge
        except TimeoutError:
            raise _TooSlow from None
        return bytes(body)

    def _authenticate(self, request: web.Request, raw: bytes) -> str:
        """Check the signature when a secret is configured; return the timestamp header ("" if absent)."""
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        if self._secret is None:
            if not self._warned_unsigned:
                self._warned_unsigned = True
                log.warning(
                    "EGGBOT_WEBHOOK_SECRET is not set: webhook deliveries are accepted unauthenticated "
                    "(they only trigger a poll; set the secret generated in the EggAPI dashboard)"
                )
            return timestamp or ""
        signature = request.headers.get(SIGNATURE_HEADER)
        return check_signature(self._secret, signature, timestamp, raw, now=self._clock(), max_skew=self._max_skew)

    def _is_duplicate(self, key: tuple[str, str, str]) -> bool:
        """Whether ``key`` was seen already; remembers it (LRU, bounded) either way."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        self._seen[key] = None
        while len(self._seen) > self._dedupe_size:
            self._seen.popitem(last=False)
        return False

    @staticmethod
    def _reject(request: web.Request, rejected: Rejected) -> web.Response:
        log.warning("webhook rejected with %d from %s: %s", rejected.status, request.remote, rejected.reason)
        return web.json_response({"ok": False, "error": rejected.reason}, status=rejected.status)

    async def _run_hint(self, task_id: str) -> None:
        try:
            result = await self._on_hint(task_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook hint for task %r failed", task_id)
        else:
            log.debug("webhook hint for task %r done: %r", task_id, result)

    # -- GET /healthz --------------------------------------------------------------------------

    async def _handle_health(self, request: web.Request) -> web.Response:
        try:
            report = await self._health()
        except Exception:
            if self._healthy:  # a traceback when it starts failing, not on every probe
                log.exception("health check failed")
            else:
                log.debug("health check failed again", exc_info=True)
            self._healthy = False
            return web.json_response({"status": "degraded"}, status=503)
        status = "ok" if report.ok else "degraded"
        if report.ok != self._healthy:
            self._healthy = report.ok
            flags = {
                "gateway_connected": report.gateway_connected,
                "database_writable": report.database_writable,
                "tracker_alive": report.tracker_alive,
            }
            log.log(
                logging.INFO if report.ok else logging.WARNING,
                "health is now %s: %s %s",
                status,
                flags,
                json.dumps(report.details, default=str),
            )
        return web.json_response({"status": status}, status=200 if report.ok else 503)
