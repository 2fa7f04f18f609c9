"""Reference images: whether their signed URLs will still work when EggAPI fetches them.

Discord's CDN signs attachment URLs and puts their expiry in the query as ``ex`` (hex Unix
seconds; about a day after the payload that carried them). EggAPI may download references only
when the task starts, so a URL stored for a Reroll, or one that waited long in line, must be
checked before anything is charged or sent. A URL without ``ex`` has no known expiry and is
used as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from bot.clock import utcnow
from bot.i18n import Text

log = logging.getLogger(__name__)

MARGIN = timedelta(hours=1)  # EggAPI may fetch a while after the submit: demand this much time left
# A task refused for this: its error code, and what its member reads.
EXPIRED_REFS = ("REFERENCES_EXPIRED", Text("service.references_expired"))


def url_expiry(url: str) -> datetime | None:
    """When a signed URL stops working (its ``ex`` parameter), or None if it carries none we can read."""
    try:
        values = parse_qs(urlsplit(url).query).get("ex")
        return datetime.fromtimestamp(int(values[0], 16), UTC) if values else None
    except (ValueError, OverflowError, OSError):
        return None


def earliest_expiry(urls: Iterable[str]) -> datetime | None:
    """The first moment one of these URLs stops working; None if none of them says."""
    expiries = [when for when in map(url_expiry, urls) if when is not None]
    return min(expiries, default=None)


@dataclass(frozen=True, slots=True)
class ReferenceCheck:
    """Decides whether reference URLs leave enough time for EggAPI to fetch them."""

    clock: Callable[[], datetime] = utcnow
    margin: timedelta = MARGIN

    def usable(self, urls: Iterable[str]) -> bool:
        """True when no URL expires within the margin (URLs without an expiry always pass)."""
        expiry = earliest_expiry(urls)
        if expiry is None or expiry - self.clock() > self.margin:
            return True
        log.info("reference images expire at %s, within %s of now; not using them", expiry.isoformat(), self.margin)
        return False
