"""Quota ledger throughput: direct ``Ledger.reserve`` / ``Ledger.settle`` calls on a temporary SQLite file,
or on a PostgreSQL database (``postgres_url``: the benchmark starts a throwaway server, ``testkit.postgres``).

The task rows a hold references are inserted first (untimed, one transaction). Then each cycle
reserves a hold in its own ``Database.transaction`` (as ``JobService.create`` does, minus the
task insert) and settles it to the unit price. Members rotate, so each member's history in the
current period grows as the run goes on, as it does over a busy day.
"""

from __future__ import annotations

import cProfile
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.stats import summary
from bot.ledger import Ledger, LedgerDefaults
from bot.lifecycle.model import ImagineRequest
from bot.lifecycle.task_store import TaskStore
from bot.storage.postgres import PgTx, PostgresDatabase
from bot.storage.sqlite import Database, Tx

GUILD_ID = 424242


async def run_ledger(
    cycles: int,
    members: int,
    *,
    profile_path: Path | None = None,
    on_progress: Callable[[int], None] | None = None,
    postgres_url: str | None = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="eggbot-ledger-") as scratch:
        db: Database | PostgresDatabase
        if postgres_url is None:
            db = await Database.open(Path(scratch) / "ledger.db")
        else:
            db = await PostgresDatabase.open(postgres_url)
        try:
            store = TaskStore(db)
            ledger = Ledger(db, LedgerDefaults(member_limit=Decimal(1000000), period="day"))

            def insert_all(tx: Tx | PgTx) -> list[int]:
                return [
                    store.insert(
                        tx,
                        ImagineRequest(
                            guild_id=GUILD_ID, channel_id=1, member_id=1000 + i % members, prompt=f"ledger bench {i}"
                        ),
                    ).id
                    for i in range(cycles)
                ]

            ids = await db.transaction(insert_all)
            price = await ledger.unit_price()
            reserve_s: list[float] = []
            settle_s: list[float] = []
            profiler = cProfile.Profile() if profile_path is not None else None
            if profiler is not None:
                profiler.enable()
            started = time.perf_counter()
            for n, task_id in enumerate(ids):
                t0 = time.perf_counter()
                await ledger.reserve(
                    task_id=task_id, guild_id=GUILD_ID, member_id=1000 + n % members, role_ids=(), count=1
                )
                t1 = time.perf_counter()
                await ledger.settle(task_id, price)
                t2 = time.perf_counter()
                reserve_s.append(t1 - t0)
                settle_s.append(t2 - t1)
                if on_progress is not None and n % 50 == 0:
                    on_progress(n)
            elapsed = time.perf_counter() - started
            if profiler is not None and profile_path is not None:
                profiler.disable()
                profiler.dump_stats(str(profile_path))
        finally:
            await db.close()
    ops = 2 * cycles
    tenth = max(1, cycles // 10)
    return {
        "backend": "sqlite" if postgres_url is None else "postgresql",
        "cycles": cycles,
        "ops": ops,
        "members": members,
        "seconds": round(elapsed, 3),
        "ops_per_s": round(ops / elapsed, 1),
        "reserve_per_s": round(cycles / sum(reserve_s), 1),
        "settle_per_s": round(cycles / sum(settle_s), 1),
        "reserve_ms": summary(reserve_s, scale=1000, digits=3),
        "settle_ms": summary(settle_s, scale=1000, digits=3),
        "reserve_ms_first_tenth_p50": summary(reserve_s[:tenth], scale=1000, digits=3)["p50"],
        "reserve_ms_last_tenth_p50": summary(reserve_s[-tenth:], scale=1000, digits=3)["p50"],
        "holds_per_member_at_end": cycles // members,
    }
