"""Log hygiene: filters the logging setup installs on its handlers.

``RepeatFilter`` keeps a flood of one message (asyncio's ``socket.accept() out of system
resource`` came at thousands a second, each with a traceback) from filling the disk: after
``burst`` identical records within ``window`` seconds the rest are dropped, and the next one let
through after the window says how many were.

``TokenRedactor`` masks interaction tokens: discord.py logs, at DEBUG, the URLs it calls
(``/interactions/<id>/<token>/callback``, ``/webhooks/<app id>/<token>/...``) and every gateway
event, ``"token"`` fields included. Anyone holding one can answer as the bot for 15 minutes.
It masks the password of a URL too (``postgresql://eggbot:***@db/eggbot``), wherever a driver's
message or a traceback repeats ``DATABASE_URL``. ``SecretMasker`` masks the configured secrets
themselves (the bot token, the EggAPI key, the webhook secret) wherever they would appear.

``JsonLines`` (``EGGBOT_LOG_FORMAT=json``) writes one JSON object per record, for log collectors,
with ``task_id``, ``guild_id`` and ``member_id`` where known: given with ``extra=``, or taken from
the log context, which the scheduler opens for each task's step (``log_context``), admitting an
interaction fills in (``bind_log_context``) and loading the step's task completes (``note_task``).
The context lives in a ``ContextVar``, so it follows each asyncio task and never leaks between them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "CONTEXT_FIELDS",
    "JsonLines",
    "RepeatFilter",
    "SecretMasker",
    "TokenRedactor",
    "bind_log_context",
    "configure_logging",
    "install",
    "log_context",
    "note_task",
    "redact_tokens",
    "redact_url",
]

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


class SecretMasker(logging.Filter):
    """Replaces each configured secret (the values themselves) by ``***`` in messages and tracebacks."""

    MIN_LENGTH = 6  # shorter values would mask ordinary words; real tokens and keys are far longer

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= self.MIN_LENGTH}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """``text`` without any of the secrets."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = _message(record)
        masked = self.mask(message)
        if masked != message:
            _rewrite(record, masked)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


# -- the log context and JSON lines -------------------------------------------------------------

CONTEXT_FIELDS = ("task_id", "guild_id", "member_id")
_CONTEXT: ContextVar[dict[str, int] | None] = ContextVar("eggbot_log_context", default=None)


@contextlib.contextmanager
def log_context(**fields: int | None) -> Iterator[None]:
    """Records logged inside carry these fields (None ones are left out), over the enclosing context's."""
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind_log_context(**fields: int | None) -> None:
    """Add fields to the context for the rest of the current asyncio task (an interaction's, say)."""
    _CONTEXT.set({**(_CONTEXT.get() or {}), **{k: v for k, v in fields.items() if v is not None}})


def note_task(task_id: int, guild_id: int | None, member_id: int) -> None:
    """A task was read: when the context is about that task, name its guild and member too."""
    context = _CONTEXT.get()
    if context is not None and context.get("task_id") == task_id and "member_id" not in context:
        bind_log_context(guild_id=guild_id, member_id=member_id)


def current_log_context() -> dict[str, int]:
    """The fields records logged here would carry (a copy)."""
    return dict(_CONTEXT.get() or {})


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, the context fields, any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        context = _CONTEXT.get() or {}
        for name in CONTEXT_FIELDS:  # only these: arbitrary ``extra=`` values could carry anything
            value = getattr(record, name, None)
            value = context.get(name) if value is None else value
            if isinstance(value, int) and not isinstance(value, bool):
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


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


def install(handler: logging.Handler, secrets: Iterable[str | None] = ()) -> None:
    """Put the hygiene filters on ``handler``: every record it writes, from any logger, passes them."""
    handler.addFilter(TokenRedactor())
    handler.addFilter(SecretMasker(secrets))
    handler.addFilter(RepeatFilter())


TEXT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"


def configure_logging(level: str, *, json_lines: bool = False, secrets: Iterable[str | None] = ()) -> None:
    """One stream handler on the root logger: plain text (no colour codes in files or containers), or JSON lines.

    Its filters (this module's) see every record of every logger, asyncio's and discord.py's too;
    ``secrets`` are the configured values that must never be written.
    """
    logging.basicConfig(level=getattr(logging, level), format=TEXT_FORMAT, stream=sys.stderr)
    wanted = list(secrets)
    for handler in logging.getLogger().handlers:
        if json_lines:
            handler.setFormatter(JsonLines())
        install(handler, wanted)
    logging.getLogger("discord.client").addFilter(_without_voice_warnings)


def _without_voice_warnings(record: logging.LogRecord) -> bool:
    """Drop discord.py's "PyNaCl/davey is not installed, voice will NOT be supported": the bot has no voice."""
    return "voice will NOT be supported" not in record.getMessage()
