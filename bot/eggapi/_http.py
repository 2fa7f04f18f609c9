"""Low-level HTTP helpers of the EggAPI client: envelope unwrapping, error mapping,
bounded body reads, ``Retry-After`` parsing and output-file naming. Private."""

from __future__ import annotations

import json
import mimetypes
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from yarl import URL

from ._errors import EggAPIError, MalformedResponse, error_for

__all__ = [
    "ERROR_BODY_LIMIT",
    "Answer",
    "error_from",
    "json_or_none",
    "parse_retry_after",
    "read_body",
    "safe_filename",
    "sniff_image_type",
    "unwrap",
]

_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_CHUNK = 64 * 1024
ERROR_BODY_LIMIT = 64 * 1024  # the most of an error answer read (its message is all that is wanted)


@dataclass(frozen=True, slots=True)
class Answer:
    """A fully read HTTP answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes


async def read_body(resp: aiohttp.ClientResponse, limit: int, *, strict: bool) -> bytes | None:
    """Stream at most ``limit`` bytes; over the limit return None (strict) or the truncated prefix."""
    buf = bytearray()
    async for chunk in resp.content.iter_chunked(_CHUNK):
        buf += chunk
        if len(buf) > limit:
            return None if strict else bytes(buf[:limit])
    return bytes(buf)


def json_or_none(body: bytes) -> Any:
    """The decoded JSON body, or None when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def unwrap(answer: Answer, method: str, path: str, redact: Callable[[str], str]) -> Any:
    """Return ``data`` of a 2xx ``{data, error: null}`` envelope, or raise the mapped error."""
    payload = json_or_none(answer.body)
    if 200 <= answer.status < 300:
        if isinstance(payload, dict) and "data" in payload and payload.get("error") is None:
            return payload["data"]
        raise MalformedResponse(
            "success answer without a {data, error} envelope", status=answer.status, method=method, path=path
        )
    raise error_from(answer, payload, method, path, redact)


def error_from(answer: Answer, payload: Any, method: str, path: str, redact: Callable[[str], str]) -> EggAPIError:
    """Map an error answer: ``error.code`` when present, else the HTTP status."""
    code: str | None = None
    envelope_error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(envelope_error, dict):
        raw_code, raw_message = envelope_error.get("code"), envelope_error.get("message")
        code = raw_code if isinstance(raw_code, str) and raw_code else None
        message = raw_message if isinstance(raw_message, str) else ""
    else:
        message = answer.body[:2000].decode("utf-8", "replace")
    return error_for(
        answer.status,
        code,
        redact(message),
        retry_after=parse_retry_after(answer.headers.get("Retry-After")),
        method=method,
        path=path,
    )


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or HTTP-date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds or seconds == float("inf"):  # NaN / inf
        return None
    return max(0.0, seconds)


def sniff_image_type(data: bytes) -> str | None:
    """The image MIME type from magic bytes (PNG, JPEG, GIF, WebP), else None."""
    for magic, content_type in _MAGIC:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def safe_filename(target: URL, content_type: str) -> str:
    """A name from the URL path's last two segments (extension dropped) plus an extension
    derived from ``content_type``: ``.../images/gen_abc/0.png`` + image/png -> ``gen_abc-0.png``."""
    parts = [p for p in target.path.split("/") if p][-2:]
    if parts:
        parts[-1] = parts[-1].rsplit(".", 1)[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", "-".join(p for p in parts if p)).strip("_-")[:80] or "image"
    ext = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
    return stem + ext
