"""What an EggAPI webhook delivery must be: signed as the docs say, and naming a task (the server's checks 2 and 3).

Pure functions of the request's parts, so the rules read in one place and are tested without a server.
"""

from __future__ import annotations

import hashlib
import hmac
import json

SIGNATURE_HEADER = "X-EggAPI-Signature"
TIMESTAMP_HEADER = "X-EggAPI-Timestamp"
MAX_TASK_ID_CHARS = 256
_MAX_TIMESTAMP_DIGITS = 15


class Rejected(Exception):
    """A delivery that is answered with an error status (the reason is safe to log)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_signature(
    secret: bytes, signature: str | None, timestamp: str | None, raw: bytes, *, now: float, max_skew: float
) -> str:
    """The timestamp header of a delivery signed with ``secret`` within ``max_skew`` of ``now``; else 401."""
    if signature is None or timestamp is None:
        raise Rejected(401, f"missing {SIGNATURE_HEADER if signature is None else TIMESTAMP_HEADER} header")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
        raise Rejected(401, "timestamp is not an integer")
    skew = now - int(timestamp)
    if abs(skew) > max_skew:
        raise Rejected(401, f"timestamp outside the {max_skew:g}s window (skew {skew:.0f}s)")
    mac = hmac.new(secret, timestamp.encode() + b"." + raw, hashlib.sha256)
    expected = ("sha256=" + mac.hexdigest()).encode()
    given = signature.strip().lower().encode("utf-8", "replace")
    if not hmac.compare_digest(expected, given):
        raise Rejected(401, "signature mismatch")
    return timestamp


def parse_delivery(raw: bytes) -> tuple[str, str]:
    """The task id (``task_id``, else ``id``, else ``data.id``) and the event ("" if absent); else 400."""
    try:
        payload = json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        raise Rejected(400, "body is not JSON") from None
    except RecursionError:  # nested deeper than the decoder goes: no delivery looks like that
        raise Rejected(400, "body is nested too deeply") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "body is not a JSON object")
    data = payload.get("data")
    candidates = [payload.get("task_id"), payload.get("id"), data.get("id") if isinstance(data, dict) else None]
    task_id = next((c.strip() for c in candidates if isinstance(c, str) and c.strip()), None)
    if task_id is None:
        raise Rejected(400, "no task id in the payload")
    if len(task_id) > MAX_TASK_ID_CHARS:
        raise Rejected(400, "task id too long")
    event = payload.get("event")
    return task_id, event if isinstance(event, str) else ""
