"""A fake EggAPI server for tests (aiohttp.web on 127.0.0.1, random port). No internet.

Start it with ``async with FakeEggAPI() as fake:`` (or ``await fake.start()`` /
``await fake.stop()``) and point the client at ``fake.url`` (``http://127.0.0.1:<port>``;
``FakeEggAPI(host=..., port=...)`` listens elsewhere).

For the playground, ``SimulatedEggAPI(seconds=(3.0, 6.0), api_key=None)`` (see
:mod:`testkit.fake_eggapi.simulated`) is the same server set up to take a few real seconds per
task, serve real pictures drawn from the prompt (:mod:`testkit.fake_eggapi.render`) and fail on
purpose when the prompt says so. Everything below describes the test fake's defaults.

API behaviour (per the EggAPI reference):

* Every ``/v1`` response is a ``{"data", "error"}`` envelope. ``/v1/*`` requires
  ``Authorization: Bearer <fake.api_key>`` (default ``"test-key"``), else 401
  ``UNAUTHORIZED`` (messages "Missing Authorization header", "Invalid Authorization
  format, expected 'Bearer <token>'", "Invalid or inactive API key"). Unknown routes
  answer 404 ``NOT_FOUND``.
* ``POST /v1/generate`` validates exactly like the reference (model ``nanobanana``, prompt
  1-2000 chars, negative_prompt <= 1000, aspect_ratio 16:9|9:16, num_outputs 1-4,
  resolution 1k|2k|4k, image_urls 1-9 URLs, webhook_url URL <= 2048, duration 1-60) ->
  400 ``VALIDATION_ERROR`` with Go-validator text (one line per field); a non-object body
  or a wrongly typed field -> 400 ``BAD_REQUEST``; ``fake.insufficient_balance = True`` ->
  403 ``INSUFFICIENT_BALANCE``. Success: 202, task ``pending``, cost ``"$0.00"``, id
  ``gen_<12 hex>``, type ``image_edit`` when image_urls is given.
* ``GET /v1/tasks/{id}`` (404 for unknown ids) advances the task as it is read (see
  :class:`TaskPlan`). ``GET /v1/tasks?page&per_page`` lists every task of the key, full task
  objects, newest first (the docs say nothing of the order: this is one answer they allow);
  per_page is clamped to 1..100, an out-of-range page gives empty items; non-integers -> 400
  ``BAD_REQUEST``. Each task on the page served is read as a GET would read it (its plan moves
  on). Misbehaving on purpose: ``fake.list_order = "oldest"`` lists oldest first, ``"shuffled"``
  in a different random order each time; ``fake.unlisted`` (task ids) are left out of the list;
  ``fake.foreign_per_list = n`` makes another client of the key create n tasks just before each
  list request is answered (the pages shift under a reader). ``fake.rate_limit = (n, seconds)``
  answers ``/v1`` requests past n in any such window 429 ``RATE_LIMITED`` with ``Retry-After``
  (counted in ``fake.rate_limited``).
  ``GET /v1/usage/summary`` returns an array of rows aggregated from
  completed tasks (units = images produced, cost per image from the plan, formatted
  ``"$0.0100"``); ``[]`` when nothing completed. ``GET /v1/usage`` lists one record per
  completed task: ``{"id", "task_id", "model", "units", "cost", "created_at"}`` (this
  record shape is invented: the real one is undocumented).
* Outputs live at ``{fake.url}/files/images/{task_id}/{i}.png`` (the "file host": no
  auth, no envelope, plain-text 404). They return :func:`png_bytes` (valid, distinct PNGs)
  with ``Content-Type: fake.file_content_type`` (default ``image/png``); set
  ``fake.file_chunked = True`` to stream without Content-Length; ``fake.file_padding = n`` pads
  each PNG with n bytes of text (a big file that still decodes); ``fake.file_declared_side = n``
  makes each claim n x n pixels over its tiny data (a decompression bomb). Any file-host request that
  carries an Authorization header is appended to ``fake.violations``.
* Task times are RFC 3339 ``...Z`` (``fake.time_format = "offset"`` gives
  ``+08:00`` with microseconds). ``fake.legacy_nulls = True`` sends absent fields as
  ``null`` (``output``, ``error``, ``started_at``, ``completed_at``) like the oldest docs.

Task control (deterministic, no sleeps): each generate takes the next plan queued with
``fake.plan_next(plan)``, else a copy of ``fake.default_plan``. Status reported by the k-th
read of the task (``GET /v1/tasks/{id}``, or a list page that shows it): ``pending`` while
``k <= polls_until_processing``, the outcome once ``k > max(polls_until_processing,
polls_until_done)`` (default plan: the very first read already reports ``completed``),
``processing`` in between. ``hold=True`` keeps it non-terminal until
``fake.finish(task_id, ...)``; ``duration=s`` finishes it ``s`` wall-clock seconds after
creation regardless of polls. ``fake.finish`` works on any non-terminal task.
``fake.add_foreign_task(...)`` adds a task another client of the same API key made (no
request recorded; completed, failed or pending, optionally back-dated).

Reference images (see :mod:`testkit.fake_eggapi.inputs`): the generate call only checks that each
``image_urls`` entry is a URL. When the task starts (the poll that moves it off ``pending``, or
its ``duration`` timer) the fake downloads every entry once; if one does not answer 200 the task
fails with ``error`` ``"Failed to download image_urls[i]: HTTP 404"`` (cost 0). Each download is
appended to ``fake.input_fetches`` (``InputFetch``: task_id, url, status). ``fake.finish`` does
not download.

Webhooks: when a task with ``webhook_url`` finishes, the fake POSTs (in the background)
``{"event": "task.completed"|"task.failed", "task_id", "status", "model",
"output": {"url": first} | null, "error", "cost": "0.010000", "timestamp": int}`` with
``Content-Type: application/json``, ``X-EggAPI-Timestamp`` and, only when
``fake.webhook_secret`` is set, ``X-EggAPI-Signature: sha256=<hex hmac>`` over
``b"{ts}." + raw_body``. Each attempt is appended to ``fake.webhook_deliveries``;
``await fake.deliver_webhook(task_id, timestamp=...)`` sends another (duplicate / stale).

Fault injection (FIFO; the first pending fault whose method (``"*"`` = any) and
``re.search(path_regex, path)`` match is used, ``times`` times):

* ``fail_next(method, path_regex, status, code=None, times=1, body=None, headers=None,
  process=False)``: answer ``status`` with an envelope (``code`` defaults from the status)
  or the raw ``body`` text; ``process=True`` performs the request first (e.g. the task is
  created, then 500 is returned).
* ``drop_next(method, path_regex)``: perform the request (a generate creates its task),
  then close the connection without answering.
* ``delay_next(method, path_regex, seconds)``: perform the request, then wait before
  answering (client timeouts).
* ``release = hold(method, path_regex)``: every matching request waits, not yet performed,
  until ``release.set()``; then the hold is gone (an order of events a test must be sure of).

Observation: ``fake.requests`` (``RecordedRequest``: method, path, query, headers, json,
body, at (``time.monotonic()`` of its arrival)), ``fake.count(method, path_prefix)``,
``fake.tasks`` (id -> ``FakeTask``), and the waiters ``wait_for_request(predicate)``,
``wait_for_task_status(task_id, status)``, ``wait_for_webhooks(count)``, ``wait_until(predicate)``
(all on one asyncio.Condition, default timeout 5 s, ``TimeoutError`` on expiry).
"""

from .inputs import InputFetch
from .models import FakeTask, RecordedRequest, TaskPlan, WebhookDelivery, png_bytes
from .render import Picture, render_png
from .server import DEFAULT_API_KEY, FakeEggAPI
from .simulated import SimulatedEggAPI

__all__ = [
    "DEFAULT_API_KEY",
    "FakeEggAPI",
    "FakeTask",
    "InputFetch",
    "Picture",
    "RecordedRequest",
    "SimulatedEggAPI",
    "TaskPlan",
    "WebhookDelivery",
    "png_bytes",
    "render_png",
]
