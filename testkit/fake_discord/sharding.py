"""Discord's sharding rules, as the fake gateway enforces them.

- Routing: a guild's events go to shard ``(guild_id >> 22) % num_shards``; events with no guild (DMs)
  go to shard 0 only. A session that identified without ``shard`` (or with ``[0, 1]``) gets everything.
- IDENTIFY: ``shard`` must be ``[id, n]`` with ``0 <= id < n`` (else close 4010 "Invalid shard");
  a shard may hold at most 2,500 guilds (else close 4011 "Sharding required").
- Pacing: sharded IDENTIFYs share ``max_concurrency`` buckets (``shard_id % max_concurrency``), one
  IDENTIFY per bucket per ``identify_interval`` (Discord: 5 s); a faster one gets op 9 INVALID_SESSION.
  Single-shard sessions are not paced here, so the suite's restarts stay fast.
- ``GET /gateway/bot``: the gateway URL, the recommended shard count (one per 1,000 guilds unless a
  test sets ``recommended_shards``) and the session start limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GUILDS_PER_SHARD_MAX = 2500
GUILDS_PER_SHARD_RECOMMENDED = 1000
SESSION_STARTS_PER_DAY = 1000


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's sharding formula."""
    return (guild_id >> 22) % shard_count


def parse_shard(value: Any) -> tuple[int, int] | None:
    """``[id, n]`` as IDENTIFY sends it; None when absent or malformed (the caller closes 4010)."""
    if not isinstance(value, list) or len(value) != 2 or not all(type(v) is int for v in value):
        return None
    shard_id, count = value
    return (shard_id, count) if count >= 1 and 0 <= shard_id < count else None


def guild_of_event(event: str, data: Any) -> int | None:
    """The guild an event belongs to, or None for events outside any guild (DMs)."""
    if not isinstance(data, Mapping):
        return None
    if event.startswith("GUILD_") and "guild_id" not in data and data.get("id") is not None:
        return int(data["id"])  # GUILD_CREATE/UPDATE/DELETE carry the guild itself
    guild_id = data.get("guild_id")
    return int(guild_id) if guild_id is not None else None


def receives(shard: tuple[int, int] | None, guild_id: int | None) -> bool:
    """Whether a session on ``shard`` gets an event of ``guild_id`` (None: not in a guild)."""
    if shard is None or shard[1] == 1:
        return True
    shard_id, count = shard
    return shard_id == 0 if guild_id is None else shard_of(guild_id, count) == shard_id


@dataclass
class IdentifyPacer:
    """``max_concurrency`` buckets, each allowing one IDENTIFY per ``interval`` seconds."""

    max_concurrency: int = 1
    interval: float = 5.0
    last: dict[int, float] = field(default_factory=dict)
    refused: int = 0

    def admit(self, shard_id: int, now: float) -> bool:
        bucket = shard_id % self.max_concurrency
        previous = self.last.get(bucket)
        if previous is not None and now - previous < self.interval:
            self.refused += 1
            return False
        self.last[bucket] = now
        return True


def gateway_bot(url: str, guilds: int, recommended: int | None, started: int, max_concurrency: int) -> dict[str, Any]:
    """The body of ``GET /gateway/bot`` (``GatewayBotResponse`` in Discord's OpenAPI spec)."""
    shards = recommended or max(1, math.ceil(guilds / GUILDS_PER_SHARD_RECOMMENDED))
    return {
        "url": url,
        "shards": shards,
        "session_start_limit": {
            "total": SESSION_STARTS_PER_DAY,
            "remaining": max(SESSION_STARTS_PER_DAY - started, 0),
            "reset_after": 86_400_000,
            "max_concurrency": max_concurrency,
        },
    }
