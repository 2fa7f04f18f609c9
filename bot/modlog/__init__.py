"""The mod-log: a server's jobs, refusals and moderator changes, posted batched in one channel.

Discord-free. ``events``: the plain-value events (``JobPosted``, ``JobRefused``,
``SettingChanged``, ``MemberForgotten``) and ``ModLogPort``, which the chat side implements to render and post them.
``service``: ``ModLog``, built once in ``bot.services``; ``record`` never raises and never waits.
"""

from .events import (
    EventsDropped,
    JobPosted,
    JobRefused,
    MemberForgotten,
    ModLogEvent,
    ModLogPort,
    ModLogUnavailable,
    SettingChanged,
    job_posted,
)
from .service import MAX_POST_CHARS, ModLog, Outage, pack

__all__ = [
    "MAX_POST_CHARS",
    "EventsDropped",
    "JobPosted",
    "JobRefused",
    "MemberForgotten",
    "ModLog",
    "ModLogEvent",
    "ModLogPort",
    "ModLogUnavailable",
    "Outage",
    "SettingChanged",
    "job_posted",
    "pack",
]
