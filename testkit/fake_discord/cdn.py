"""The fake Discord's CDN: a settable wall clock and signed, expiring attachment URLs.

Private helper module of :mod:`testkit.fake_discord`; read that module's docstring for the
public guide. Discord signs attachment URLs (``?ex=<hex expiry>&is=<hex issue time>&hm=<hex
signature>``) and refreshes them in every payload that carries the attachment; a URL past its
``ex`` (or unsigned, or tampered with) is answered 404. This module does the same on the fake's
own clock, so tests can move time forward without sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

DEFAULT_ATTACHMENT_TTL = 24 * 3600.0  # seconds; Discord's current lifetime (it was 14 days until 2024)


class FakeClock:
    """Wall-clock seconds (Unix time) that follow real time from a test-chosen offset."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """The fake's current Unix time."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative value); real time keeps running on top."""
        self._offset += seconds

    def set(self, timestamp: float) -> None:
        """Make the clock read ``timestamp`` now."""
        self._offset = timestamp - time.time()


class Cdn:
    """Signs attachment URLs and checks them when they are downloaded."""

    def __init__(self, clock: FakeClock, ttl: float = DEFAULT_ATTACHMENT_TTL) -> None:
        self.clock = clock
        self.ttl = ttl
        self._key = secrets.token_bytes(32)

    def sign(self, base_url: str, attachment_id: int) -> str:
        """``base_url`` signed for this attachment: issued now, valid for ``ttl`` seconds."""
        issued = int(self.clock.now())
        expires = issued + max(int(self.ttl), 0)
        return f"{base_url}?ex={expires:08x}&is={issued:08x}&hm={self._mac(attachment_id, expires, issued)}"

    def valid(self, attachment_id: int, query: Mapping[str, str]) -> bool:
        """Whether a download of this attachment with this query is signed by us and not yet expired."""
        try:
            expires, issued = int(query["ex"], 16), int(query["is"], 16)
        except (KeyError, ValueError):
            return False
        if not hmac.compare_digest(query.get("hm", ""), self._mac(attachment_id, expires, issued)):
            return False
        return self.clock.now() < expires

    def _mac(self, attachment_id: int, expires: int, issued: int) -> str:
        message = f"{attachment_id}|{expires:08x}|{issued:08x}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
