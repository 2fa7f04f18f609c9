"""The fake EggAPI's records: task plans, task state, what it received and sent, and its PNGs."""

from __future__ import annotations

import asyncio
import hashlib
import re
import struct
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from multidict import CIMultiDict


@dataclass
class TaskPlan:
    """How the next task behaves. See :mod:`testkit.fake_eggapi` for the poll semantics.

    ``cost_text`` is served as a completed task's ``cost`` instead of the real one (odd upstream
    values); ``omit_cost`` leaves the field out. The summary still counts the real cost.
    """

    outcome: Literal["completed", "failed"] = "completed"
    error: str = "Content moderation: prompt contains prohibited content"
    images: int | None = None
    polls_until_processing: int = 0
    polls_until_done: int = 0
    hold: bool = False
    duration: float | None = None
    cost_per_image: Decimal = Decimal("0.01")
    cost_text: str | None = None
    omit_cost: bool = False


@dataclass
class FakeTask:
    """Server-side state of one task."""

    id: str
    model: str
    type: str
    request: dict[str, Any]
    plan: TaskPlan
    num_outputs: int
    webhook_url: str | None
    created_at: datetime
    seq: int
    status: str = "pending"
    output_urls: list[str] = field(default_factory=list)
    error: str | None = None
    cost: Decimal = Decimal("0")
    started_at: datetime | None = None
    completed_at: datetime | None = None
    polls: int = 0
    inputs_fetched: bool = False
    inputs: list[bytes] = field(default_factory=list)  # the downloaded image_urls bodies, in order

    @property
    def is_terminal(self) -> bool:
        """True once completed or failed."""
        return self.status in ("completed", "failed")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it (``headers`` is case-insensitive; ``at``: ``time.monotonic()``)."""

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    json: Any
    body: bytes
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook POST the fake made; ``status`` None means it could not be delivered."""

    task_id: str
    event: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None
    error: str | None


@dataclass
class Fault:
    """One injected fault, waiting for a matching request (see ``FakeEggAPI.fail_next``)."""

    kind: Literal["fail", "drop", "delay", "hold"]
    method: str
    pattern: re.Pattern[str]
    times: int = 1
    status: int = 500
    code: str | None = None
    body: str | None = None
    headers: dict[str, str] | None = None
    seconds: float = 0.0
    process: bool = False
    release: asyncio.Event | None = None  # a hold: matching requests wait for it; once set, the hold is gone


def png_bytes(task_id: str, index: int, size: int = 8, padding: int = 0, declared: int | None = None) -> bytes:
    """A valid ``size`` x ``size`` RGB PNG whose colour and tEXt chunk depend on (task_id, index).

    ``padding`` adds that many bytes of ancillary text, making a big file that still decodes.
    ``declared`` puts that side in the header instead, over the same tiny pixel data: a
    decompression bomb's shape (a small file that claims to decode to declared² pixels).
    """
    digest = hashlib.sha256(f"{task_id}/{index}".encode()).digest()
    row = b"\x00" + digest[:3] * size
    raw = row * size

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", declared or size, declared or size, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00" + f"{task_id}/{index}".encode() + b" " * padding)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
