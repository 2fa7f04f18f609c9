"""EggAPI client for eggbot (aiohttp only; no Discord imports).

Usage::

    async with aiohttp.ClientSession() as session:
        client = EggAPIClient(session, api_key=key)          # base_url defaults to https://api.eggapi.ai
        task = await client.generate(GenerateRequest(prompt="a red fox", num_outputs=2))
        task = await client.get_task(task.id)                 # poll until task.is_terminal
        if task.is_completed:
            images = [await client.download_image(u, max_bytes=8_000_000) for u in task.output_urls]
        elif task.is_failed:
            ...                                              # task.error is raw upstream text

Client (``EggAPIClient(session, *, api_key, base_url=DEFAULT_BASE_URL, timeout=30.0,
max_attempts=5, backoff_base=1.0, backoff_cap=30.0, sleep=asyncio.sleep, rng=None, budget=None)``):

* ``await generate(req: GenerateRequest) -> EggTask`` - ``POST /v1/generate``; retried on
  429 only; ambiguous failures raise ``SubmitOutcomeUnknown`` (never resubmit).
* ``await get_task(task_id: str) -> EggTask`` - a failed task is returned, not raised.
* ``await list_tasks(page=1, per_page=20) -> TaskPage`` - ``per_page`` clamped to 1..100.
* ``await usage_summary() -> list[UsageRow]`` - no query parameters; ``[]`` = no usage.
* ``await usage_records(page=1, per_page=20) -> UsageRecordPage`` - raw dict records.
* ``await download_image(url: str, *, max_bytes: int) -> DownloadedImage`` - no
  Authorization header; ``DownloadTooLarge`` over ``max_bytes``; ``ValueError`` for
  non-http(s) URLs; redirects and types checked as :mod:`bot.eggapi._downloads` says.

Request budget: ``RequestBudget(rate)`` is shared by every request of the process (``budget=``),
and across processes on one database by ``bot.lifecycle.processes`` (each gets its share):
at most ``rate`` a second, waiting requests by ``Priority`` (SUBMIT, POLL, DOWNLOAD, FALLBACK,
BACKGROUND; ``get_task`` and ``list_tasks`` take ``priority=``), slowed down by 429s;
``client.busy`` says whether EggAPI is overloaded right now (see :mod:`bot.eggapi._budget`).

Models: ``GenerateRequest``, ``EggTask`` (``is_terminal``/``is_completed``/``is_failed``,
``output_urls``, ``cost: Decimal | None`` (None: absent or unreadable), aware datetimes),
``TaskPage``, ``UsageRow``,
``UsageRecordPage``, ``DownloadedImage``; money helpers ``parse_cost`` / ``format_cost``;
documented limits ``MODEL``, ``PRICE_PER_IMAGE``, ``MAX_PROMPT_CHARS`` ...

Errors: see :mod:`bot.eggapi._errors` for the hierarchy. Catch ``EggAPIUnavailable`` for
"upstream down, try later", ``EggAPIClientError`` for rejected requests, and always
show ``err.user_message`` (never ``err.message``) to users.
"""

from ._budget import Priority, RequestBudget
from ._client import DEFAULT_BASE_URL, EggAPIClient
from ._errors import (
    BadRequest,
    DownloadTooLarge,
    EggAPIClientError,
    EggAPIError,
    EggAPIServerError,
    EggAPIUnavailable,
    Forbidden,
    InsufficientBalance,
    InternalError,
    MalformedResponse,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    SubmitOutcomeUnknown,
    TransportError,
    Unauthorized,
    UpstreamError,
    ValidationFailed,
)
from ._models import (
    ASPECT_RATIOS,
    MAX_IMAGE_URLS,
    MAX_NEGATIVE_PROMPT_CHARS,
    MAX_NUM_OUTPUTS,
    MAX_PROMPT_CHARS,
    MAX_WEBHOOK_URL_CHARS,
    MODEL,
    PRICE_PER_IMAGE,
    RESOLUTIONS,
    TERMINAL_STATUSES,
    DownloadedImage,
    EggTask,
    GenerateRequest,
    TaskPage,
    UsageRecordPage,
    UsageRow,
    format_cost,
    parse_cost,
)

__all__ = [
    "ASPECT_RATIOS",
    "DEFAULT_BASE_URL",
    "MAX_IMAGE_URLS",
    "MAX_NEGATIVE_PROMPT_CHARS",
    "MAX_NUM_OUTPUTS",
    "MAX_PROMPT_CHARS",
    "MAX_WEBHOOK_URL_CHARS",
    "MODEL",
    "PRICE_PER_IMAGE",
    "RESOLUTIONS",
    "TERMINAL_STATUSES",
    "BadRequest",
    "DownloadTooLarge",
    "DownloadedImage",
    "EggAPIClient",
    "EggAPIClientError",
    "EggAPIError",
    "EggAPIServerError",
    "EggAPIUnavailable",
    "EggTask",
    "Forbidden",
    "GenerateRequest",
    "InsufficientBalance",
    "InternalError",
    "MalformedResponse",
    "NotFound",
    "Priority",
    "RateLimited",
    "RequestBudget",
    "ServiceUnavailable",
    "SubmitOutcomeUnknown",
    "TaskPage",
    "TransportError",
    "Unauthorized",
    "UpstreamError",
    "UsageRecordPage",
    "UsageRow",
    "ValidationFailed",
    "format_cost",
    "parse_cost",
]
