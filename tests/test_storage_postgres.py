"""What only the PostgreSQL backend has to show: its migrations, exact money, and no overdraw across processes.

Every test runs against a real PostgreSQL server (``testkit.postgres``); "two processes" are two
``PostgresDatabase`` instances, each with its own pool, on one database, which is what two bot
processes are to the server.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest

from bot.errors import QueueFull
from bot.ledger import Ledger, LedgerDefaults, QuotaExceeded, QuotaReason
from bot.lifecycle.intake import JobService
from bot.lifecycle.model import ImagineRequest, TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper
from bot.storage import IntegrityError
from bot.storage.postgres import DatabaseUnavailable, PostgresDatabase, bundled_migrations
from bot.storage.postgres.ledger import PostgresLedger
from bot.storage.postgres.migrations import Migration
from bot.storage.sqlite import bundled_migrations as sqlite_migrations
from testkit.backends import Backend
from testkit.postgres import PASSWORD, PostgresServer

D = Decimal
WEDNESDAY = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)
GUILD, MEMBER = 1, 3


@pytest.fixture
async def pair(postgres: Backend) -> AsyncIterator[tuple[PostgresDatabase, PostgresDatabase]]:
    """Two processes' worth of storage on one database."""
    url = await postgres.url()
    async with await PostgresDatabase.open(url) as first, await PostgresDatabase.open(url) as second:
        yield first, second


def test_every_sqlite_migration_has_its_postgresql_port_under_the_same_name() -> None:
    """A schema version means the same tables on both; a new SQLite migration needs its port beside it."""
    assert [m.name for m in bundled_migrations()] == [m.name for m in sqlite_migrations()]


async def test_processes_starting_together_apply_each_migration_once(postgres_server: PostgresServer) -> None:
    url = await postgres_server.create_database(empty=True)
    try:
        opened = await asyncio.gather(*(PostgresDatabase.open(url) for _ in range(3)))
        for db in opened:
            assert await db.schema_version() == len(bundled_migrations())
        rows = await opened[0].fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, len(bundled_migrations()) + 1))
        for db in opened:
            await db.close()
    finally:
        await postgres_server.drop_database(url)


async def test_a_failed_migration_rolls_back_and_a_newer_schema_is_refused(postgres: Backend) -> None:
    url = await postgres.url()
    bad = Migration(len(bundled_migrations()) + 1, "bad", "CREATE TABLE t (x int); SELEC nonsense")
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await PostgresDatabase.open(url, [*bundled_migrations(), bad])
    async with await PostgresDatabase.open(url) as db:
        assert await db.schema_version() == len(bundled_migrations())
        row = await db.fetchone("SELECT to_regclass('t') IS NULL AS gone")
        assert row is not None and row["gone"]
        await db.transaction(lambda tx: tx.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'x')"))
    with pytest.raises(RuntimeError, match="newer"):
        await PostgresDatabase.open(url)
    with pytest.raises(RuntimeError, match="schema 999"):
        await PostgresDatabase.open_existing(url)


async def test_money_stays_exact_and_times_aware(postgres: Backend) -> None:
    async with await postgres.open() as db:
        store = TaskStore(db)
        task = await store.create(ImagineRequest(guild_id=GUILD, channel_id=2, member_id=MEMBER, prompt="p"))
        exact = D("0.123456789012345678")
        await store.transition(task.id, TaskStatus.QUEUED, TaskStatus.SUBMITTING)
        await store.transition(task.id, TaskStatus.SUBMITTING, TaskStatus.RUNNING, egg_task_id="gen_1")
        await store.transition(task.id, TaskStatus.RUNNING, TaskStatus.COMPLETED, cost=exact, output_urls=("u",))
        done = await store.get(task.id)
        assert done is not None and done.cost == exact and str(done.cost) == "0.123456789012345678"
        assert done.created_at.tzinfo is not None and done.updated_at.utcoffset() is not None
        row = await db.fetchone("SELECT pg_typeof(cost)::text AS money, pg_typeof(created_at)::text AS time FROM tasks")
        assert row is not None and (row["money"], row["time"]) == ("numeric", "timestamp with time zone")


async def test_a_second_hold_of_a_task_is_the_storage_integrity_error(postgres: Backend) -> None:
    async with await postgres.open() as db:
        ledger = Ledger(db, LedgerDefaults(member_limit=D("1.00"), period="day"))
        task = await TaskStore(db).create(ImagineRequest(guild_id=GUILD, channel_id=2, member_id=MEMBER, prompt="p"))
        await ledger.reserve(task_id=task.id, guild_id=GUILD, member_id=MEMBER, role_ids=(), count=1, now=WEDNESDAY)
        with pytest.raises(IntegrityError):
            await ledger.reserve(task_id=task.id, guild_id=GUILD, member_id=MEMBER, role_ids=(), count=1)
        assert await db.is_writable()


async def reserve_all(
    ledgers: Sequence[Ledger], stores: Sequence[TaskStore], members: Sequence[int]
) -> list[QuotaReason | None]:
    """One task per entry of ``members``, then every hold at once, alternating between the two processes."""
    tasks = [
        await stores[n % 2].create(ImagineRequest(guild_id=GUILD, channel_id=2, member_id=member, prompt=f"p{n}"))
        for n, member in enumerate(members)
    ]

    async def hold(n: int) -> QuotaReason | None:
        try:
            await ledgers[n % 2].reserve(
                task_id=tasks[n].id, guild_id=GUILD, member_id=members[n], role_ids=(), count=1, now=WEDNESDAY
            )
        except QuotaExceeded as refused:
            return refused.reason
        return None

    return await asyncio.gather(*(hold(n) for n in range(len(members))))


async def test_fifty_holds_by_one_member_at_the_edge_through_two_processes_never_overdraw(
    pair: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    defaults = LedgerDefaults(member_limit=D("0.17"), period="day")
    ledgers = [Ledger(db, defaults, clock=lambda: WEDNESDAY) for db in pair]
    results = await reserve_all(ledgers, [TaskStore(db) for db in pair], [MEMBER] * 50)
    assert results.count(None) == 17
    assert set(results) == {None, QuotaReason.MEMBER_LIMIT}
    balance = await ledgers[0].balance(GUILD, MEMBER, (), now=WEDNESDAY)
    assert balance.reserved == D("0.17") and balance.available == 0 and balance.overdrawn == 0


async def test_fifty_members_at_once_never_pass_the_server_cap_through_two_processes(
    pair: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    defaults = LedgerDefaults(member_limit=D("1.00"), period="day")
    ledgers = [Ledger(db, defaults, clock=lambda: WEDNESDAY) for db in pair]
    await ledgers[0].set_server_cap(GUILD, D("0.20"))
    results = await reserve_all(ledgers, [TaskStore(db) for db in pair], [100 + n for n in range(50)])
    assert results.count(None) == 20
    assert set(results) == {None, QuotaReason.SERVER_CAP}
    row = await pair[1].fetchone("SELECT SUM(reserved) AS held FROM ledger_holds WHERE state = 'active'")
    assert row is not None and row["held"] == D("0.20")


async def test_fifty_jobs_at_once_never_pass_the_queue_cap_through_two_processes(
    pair: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    def jobs(db: PostgresDatabase) -> JobService:
        store, ledger = TaskStore(db), Ledger(db, LedgerDefaults(member_limit=D("100"), period="day"))
        return JobService(db, store, ledger, Bookkeeper(db, store, ledger), max_queued_per_member=10)

    services = [jobs(db) for db in pair]

    async def create(n: int) -> bool:
        request = ImagineRequest(guild_id=GUILD, channel_id=2, member_id=MEMBER, prompt=f"fox {n}", count=1)
        try:
            await services[n % 2].create(request)
        except QueueFull:
            return False
        return True

    created = await asyncio.gather(*(create(n) for n in range(50)))
    assert created.count(True) == 10
    rows = await pair[0].fetchall("SELECT t.id FROM tasks t JOIN ledger_holds h ON h.task_id = t.id")
    assert len(rows) == 10  # every job has its hold, and no hold is left without its job


async def test_a_server_that_refuses_the_login_is_named_without_the_password(postgres: Backend) -> None:
    url = await postgres.url()
    wrong = url.replace(PASSWORD, "not-the-password")
    with pytest.raises(DatabaseUnavailable) as refused:
        await PostgresDatabase.open(wrong)
    message = str(refused.value)
    assert "not-the-password" not in message and PASSWORD not in message
    assert "postgresql://eggbot:***@127.0.0.1" in message and "password authentication failed" in message


async def test_connections_the_server_closed_while_idle_are_replaced_before_a_change(postgres: Backend) -> None:
    """A server restart or failover ends every pooled connection; the next changes must not fail for it."""
    url = await postgres.url()
    server = postgres.server
    assert server is not None
    async with await postgres.open() as db:
        store = TaskStore(db)
        await asyncio.gather(*(store.create(ImagineRequest(GUILD, 2, MEMBER, f"p{n}")) for n in range(5)))
        name = url.rsplit("/", 1)[-1]
        await server.admin(f"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{name}'")
        created = await asyncio.gather(*(store.create(ImagineRequest(GUILD, 2, MEMBER, f"q{n}")) for n in range(5)))
        assert len({task.id for task in created}) == 5
        assert len(await store.list_unfinished()) == 10


async def test_a_hold_settling_during_an_account_budget_check_waits_for_it(
    postgres: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check reads the settled sum, then the active one; a hold settling between the two reads would
    be in neither, and a request that does not fit would be admitted. So the settle waits for the check.

    The check is held between its two reads until the settle has ended; a settle that has to wait for a
    lock gives up at once (the database's ``lock_timeout``), which is what it must do here.
    """
    url = await postgres.url()
    assert postgres.server is not None
    await postgres.server.admin(f"ALTER DATABASE {url.rsplit('/', 1)[-1]} SET lock_timeout = '100ms'")
    defaults = LedgerDefaults(member_limit=D("100"), period="day", account_budget=D("0.01"))
    async with await PostgresDatabase.open(url) as first, await PostgresDatabase.open(url) as second:
        ledgers = [Ledger(db, defaults, clock=lambda: WEDNESDAY) for db in (first, second)]
        store = TaskStore(first)
        held, asked = [
            await store.create(ImagineRequest(guild_id=GUILD, channel_id=2, member_id=MEMBER, prompt=p)) for p in "ab"
        ]
        await ledgers[0].reserve(task_id=held.id, guild_id=GUILD, member_id=MEMBER, role_ids=(), count=1, now=WEDNESDAY)
        between, go_on = threading.Event(), threading.Event()
        read_settled = PostgresLedger.settled_since_summary

        def pausing(repository: PostgresLedger) -> Decimal:
            settled = read_settled(repository)
            between.set()
            go_on.wait()  # on the check's worker thread: the event loop runs on
            return settled

        monkeypatch.setattr(PostgresLedger, "settled_since_summary", pausing)
        checking = asyncio.ensure_future(
            ledgers[1].reserve(task_id=asked.id, guild_id=GUILD, member_id=MEMBER, role_ids=(), count=1, now=WEDNESDAY)
        )
        await asyncio.to_thread(between.wait)
        monkeypatch.setattr(PostgresLedger, "settled_since_summary", read_settled)
        try:
            with pytest.raises(asyncpg.LockNotAvailableError):
                await ledgers[0].settle(held.id, D("0.01"))  # it would have to wait for the check: no slipping in
        finally:
            go_on.set()
        with pytest.raises(QuotaExceeded) as refused:
            await checking
        assert refused.value.reason is QuotaReason.ACCOUNT_BUDGET
        assert await ledgers[0].settle(held.id, D("0.01"))  # once the check has ended
