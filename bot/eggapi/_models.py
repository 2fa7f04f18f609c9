"""Typed values exchanged with EggAPI, and cost helpers.

* :func:`parse_cost` turns any cost seen in the docs (``"$0.00"``, ``"$0.0100"``,
  ``"0.016000"``, ``None``) into a :class:`~decimal.Decimal`; :func:`format_cost` renders
  one as ``"$0.0100"``. Never use floats for money. A task's own cost is read leniently: an
  odd one leaves ``EggTask.cost`` None instead of rejecting the task.
* :class:`GenerateRequest` is the body of ``POST /v1/generate``; :meth:`GenerateRequest.to_json`
  omits unset fields and never sends ``duration``.
* :class:`EggTask` is a task object (``GET /v1/tasks/{id}``), :class:`TaskPage` a page of
  ``GET /v1/tasks``, :class:`UsageRow` a row of ``GET /v1/usage/summary``,
  :class:`UsageRecordPage` a page of ``GET /v1/usage`` (record fields are undocumented, so
  items stay raw dicts), :class:`DownloadedImage` an output file fetched from the file host.

``from_json`` constructors raise ``ValueError``/``TypeError``/``KeyError`` on bodies that
do not have the documented shape; the client turns those into ``MalformedResponse``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ._parsing import format_cost, parse_cost, parse_int, parse_number, parse_time, read_cost

__all__ = [
    "ASPECT_RATIOS",
    "MAX_IMAGE_URLS",
    "MAX_NEGATIVE_PROMPT_CHARS",
    "MAX_NUM_OUTPUTS",
    "MAX_PROMPT_CHARS",
    "MAX_WEBHOOK_URL_CHARS",
    "MODEL",
    "PRICE_PER_IMAGE",
    "RESOLUTIONS",
    "TERMINAL_STATUSES",
    "DownloadedImage",
    "EggTask",
    "GenerateRequest",
    "TaskPage",
    "UsageRecordPage",
    "UsageRow",
    "format_cost",
    "parse_cost",
]

MODEL = "nanobanana"
"""The only model value the EggAPI validator accepts."""
PRICE_PER_IMAGE = Decimal("0.0100")
"""Documented price per produced image, in USD."""
MAX_PROMPT_CHARS = 2000
MAX_NEGATIVE_PROMPT_CHARS = 1000
ASPECT_RATIOS = ("16:9", "9:16")
RESOLUTIONS = ("1k", "2k", "4k")
MAX_NUM_OUTPUTS = 4
MAX_IMAGE_URLS = 9
MAX_WEBHOOK_URL_CHARS = 2048
TERMINAL_STATUSES = frozenset({"completed", "failed"})


def _require_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} is not a JSON object")
    return value


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    """Body of ``POST /v1/generate``. ``None``/empty fields are not sent."""

    prompt: str
    negative_prompt: str | None = None
    aspect_ratio: str | None = None
    num_outputs: int = 1
    resolution: str | None = None
    image_urls: tuple[str, ...] = ()
    webhook_url: str | None = None
    model: str = MODEL

    def __post_init__(self) -> None:
        if not isinstance(self.image_urls, tuple):
            object.__setattr__(self, "image_urls", tuple(self.image_urls))

    def to_json(self) -> dict[str, Any]:
        """The JSON body: ``model``, ``prompt``, ``num_outputs`` plus the fields that are set."""
        body: dict[str, Any] = {"model": self.model, "prompt": self.prompt, "num_outputs": self.num_outputs}
        if self.negative_prompt is not None:
            body["negative_prompt"] = self.negative_prompt
        if self.aspect_ratio is not None:
            body["aspect_ratio"] = self.aspect_ratio
        if self.resolution is not None:
            body["resolution"] = self.resolution
        if self.image_urls:
            body["image_urls"] = list(self.image_urls)
        if self.webhook_url is not None:
            body["webhook_url"] = self.webhook_url
        return body


@dataclass(frozen=True, slots=True)
class EggTask:
    """A generation task. ``output_urls`` is empty until the task completed.

    ``cost`` is None when EggAPI sent none, or one that is not a plain amount >= 0; then
    ``unreadable_cost`` says (short and printable) what it was, for the log.
    """

    id: str
    status: str
    model: str = ""
    type: str = ""
    output_urls: tuple[str, ...] = ()
    error: str | None = None
    cost: Decimal | None = Decimal("0")
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    unreadable_cost: str | None = None

    @property
    def is_terminal(self) -> bool:
        """True for ``completed`` and ``failed``."""
        return self.status in TERMINAL_STATUSES

    @property
    def is_completed(self) -> bool:
        """True when the task finished with outputs."""
        return self.status == "completed"

    @property
    def is_failed(self) -> bool:
        """True when the task finished with an error (still HTTP 200 upstream)."""
        return self.status == "failed"

    @classmethod
    def from_json(cls, data: Any) -> EggTask:
        """Parse a task object; ``output.urls`` falls back to ``[output.url]``."""
        obj = _require_mapping(data, "task")
        task_id, status = obj["id"], obj["status"]
        if not isinstance(task_id, str) or not task_id or not isinstance(status, str):
            raise ValueError("task has no id/status")
        urls: list[str] = []
        output = obj.get("output")
        if isinstance(output, Mapping):
            many = output.get("urls")
            if isinstance(many, Sequence) and not isinstance(many, str):
                urls = [u for u in many if isinstance(u, str) and u]
            if not urls and isinstance(output.get("url"), str) and output["url"]:
                urls = [output["url"]]
        error = obj.get("error")
        cost, unreadable_cost = read_cost(obj.get("cost"))
        return cls(
            id=task_id,
            status=status,
            model=str(obj.get("model") or ""),
            type=str(obj.get("type") or ""),
            output_urls=tuple(urls),
            error=error if isinstance(error, str) and error else None,
            cost=cost,
            created_at=parse_time(obj.get("created_at")),
            started_at=parse_time(obj.get("started_at")),
            completed_at=parse_time(obj.get("completed_at")),
            unreadable_cost=unreadable_cost,
        )


def _pagination(data: Mapping[str, Any], count: int) -> tuple[int, int, int, int]:
    raw = data.get("pagination")
    pag: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    page = parse_int(pag.get("page"), 1)
    per_page = parse_int(pag.get("per_page"), count)
    total = parse_int(pag.get("total"), count)
    total_pages = parse_int(pag.get("total_pages"), 1 if total else 0)
    return page, per_page, total, total_pages


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of ``GET /v1/tasks``. Order is not guaranteed upstream."""

    items: tuple[EggTask, ...]
    page: int
    per_page: int
    total: int
    total_pages: int

    @classmethod
    def from_json(cls, data: Any) -> TaskPage:
        """Parse ``{"items": [...], "pagination": {...}}``."""
        obj = _require_mapping(data, "task list")
        items = obj.get("items") or []
        if not isinstance(items, list):
            raise ValueError("items is not a list")
        tasks = tuple(EggTask.from_json(item) for item in items)
        return cls(tasks, *_pagination(obj, len(tasks)))


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One per-model row of ``GET /v1/usage/summary`` (window and scope undocumented)."""

    model: str
    total_units: Decimal
    total_cost: Decimal
    request_count: int

    @classmethod
    def from_json(cls, data: Any) -> UsageRow:
        """Parse ``{"model", "total_units", "total_cost", "request_count"}``."""
        obj = _require_mapping(data, "usage row")
        return cls(
            model=str(obj.get("model") or ""),
            total_units=parse_number(obj.get("total_units", 0)),
            total_cost=parse_cost(obj.get("total_cost")),
            request_count=parse_int(obj.get("request_count"), 0),
        )


@dataclass(frozen=True, slots=True)
class UsageRecordPage:
    """One page of ``GET /v1/usage``; records are raw dicts (fields undocumented)."""

    items: tuple[dict[str, Any], ...]
    page: int
    per_page: int
    total: int
    total_pages: int

    @classmethod
    def from_json(cls, data: Any) -> UsageRecordPage:
        """Parse ``{"items": [...], "pagination": {...}}``; non-object items are dropped."""
        obj = _require_mapping(data, "usage list")
        items = obj.get("items") or []
        if not isinstance(items, list):
            raise ValueError("items is not a list")
        records = tuple(dict(item) for item in items if isinstance(item, Mapping))
        return cls(records, *_pagination(obj, len(records)))


@dataclass(frozen=True, slots=True)
class DownloadedImage:
    """An output file: bytes, MIME type sniffed from them, and a safe file name."""

    data: bytes = field(repr=False)
    content_type: str
    filename: str

    @property
    def size(self) -> int:
        """Number of bytes."""
        return len(self.data)
