"""Log hygiene: filters the logging setup installs on its handlers.

``RepeatFilter`` keeps a flood of one message (asyncio's ``socket.accept() out of system
resource`` came at thousands a second, each with a traceback) from filling the disk: after
``burst`` identical records within ``window`` seconds the rest are dropped, and the next one let
through after the window says how many were.

``TokenRedactor`` masks interaction tokens: discord.py logs, at DEBUG, the URLs it calls
(``/interactions/<id>/<token>/callback``, ``/webhooks/<app id>/<token>/...``) and every gateway
event, ``"token"`` fields included. Anyone holding one can answer as the bot for 15 minutes. It
masks the password of a URL too (``postgresql://eggbot:***@db/eggbot``), wherever a driver's message
or a traceback repeats ``DATABASE_URL``.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RepeatFilter", "TokenRedactor", "configure_logging", "install", "redact_tokens", "redact_url"]

MASK = "***"
_URL_TOKEN = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/?#\s'\"]+")
_FIELD_TOKEN = re.compile(r"""((?:'token'|"token")\s*:\s*['"])[^'"]+""")
_URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/:@\s]*:)[^/\s]*(@)")


def redact_url(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it replaced by ``***``."""
    if "@" not in text:
        return text
    return _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<2>", text)


def redact_tokens(text: str) -> str:
    """``text`` with interaction and webhook tokens, and URL passwords, replaced by ``***``."""
    text = redact_url(text)
    if "token" not in text and "/webhooks/" not in text and "/interactions/" not in text:
        return text
    return _FIELD_TOKEN.sub(rf"\g<1>{MASK}", _URL_TOKEN.sub(rf"\g<1>{MASK}", text))


class TokenRedactor(logging.Filter):
    """Rewrites a record's message and traceback with the tokens in them masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = _message(record)
        redacted = redact_tokens(message)
        if redacted != message:
            _rewrite(record, redacted)
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_tokens(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact_tokens(record.stack_info)
        return True


@dataclass(slots=True)
class _Seen:
    since: float
    count: int = 1
    dropped: int = 0


class RepeatFilter(logging.Filter):
    """Lets ``burst`` copies of one message through per ``window`` seconds and counts the rest."""

    def __init__(
        self,
        *,
        window: float = 60.0,
        burst: int = 5,
        max_messages: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._window = window
        self._burst = burst
        self._max_messages = max_messages
        self._clock = clock
        self._seen: OrderedDict[tuple[str, int, str], _Seen] = OrderedDict()
        self._lock = threading.Lock()  # records come from the database thread too

    def filter(self, record: logging.LogRecord) -> bool:
        message = _message(record)
        key = (record.name, record.levelno, message)
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is None or now - seen.since >= self._window:
                dropped = seen.dropped if seen is not None else 0
                self._seen[key] = _Seen(since=now)
                self._seen.move_to_end(key)
                while len(self._seen) > self._max_messages:
                    self._seen.popitem(last=False)
                if dropped:
                    _rewrite(record, f"{message} [{dropped} identical messages suppressed before this one]")
                return True
            seen.count += 1
            if seen.count <= self._burst:
                if seen.count == self._burst:
                    _rewrite(
                        record, f"{message} [repeated {self._burst} times; suppressing copies for {self._window:g}s]"
                    )
                return True
            seen.dropped += 1
            return False


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a bad format string: let the handler report it as usual
        return str(record.msg)


def _rewrite(record: logging.LogRecord, message: str) -> None:
    record.msg = message
    record.args = None


def install(handler: logging.Handler) -> None:
    """Put the hygiene filters on ``handler``: every record it writes, from any logger, passes them."""
    handler.addFilter(TokenRedactor())
    handler.addFilter(RepeatFilter())


def configure_logging(level: str) -> None:
    """One plain stream handler on the root logger (no colour codes in files or containers).

    Its filters (this module's) see every record of every logger, asyncio's and discord.py's too.
    """
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)-8s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:
        install(handler)
    logging.getLogger("discord.client").addFilter(_without_voice_warnings)


def _without_voice_warnings(record: logging.LogRecord) -> bool:
    """Drop discord.py's "PyNaCl/davey is not installed, voice will NOT be supported": the bot has no voice."""
    return "voice will NOT be supported" not in record.getMessage()
