"""The composition root: every core object, built once, in the order they depend on each other.

``open_resources`` opens what has to be closed (the database, the HTTP session and the EggAPI
client on it). ``build_core`` builds everything that needs no chat platform: what the operator's
``python -m bot unconfirmed`` uses too, without importing discord. ``build_services`` adds the
parts that follow tasks and show them to members, which all need the ``Publisher``; the
Discord side calls it once, with its publisher (``bot.app``), as discord.py's
``examples/advanced_startup.py`` hands its resources to the bot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import aiohttp

from bot.clock import utcnow
from bot.eggapi import EggAPIClient, RequestBudget
from bot.guilds import GuildSettings
from bot.ledger import Ledger, LedgerDefaults
from bot.ledger.prices import PriceRefresher
from bot.lifecycle import (
    Bookkeeper,
    Deliverer,
    Foreground,
    IntakeCheck,
    JobService,
    Outcomes,
    Publisher,
    Reconciler,
    ReferenceCheck,
    StatusBoard,
    Tracker,
    TrackerConfig,
)
from bot.lifecycle.leases import LeaseConfig, Leases, new_owner, seat_of
from bot.lifecycle.model import TaskRecord
from bot.lifecycle.processes import ProcessRegistry
from bot.lifecycle.remakes import Remakes
from bot.lifecycle.task_store import TaskStore
from bot.members import History, MemberData, MemberPreferences, refuse_erased
from bot.metrics import Metrics, read_gauges
from bot.modlog import ModLog, ModLogPort, job_posted
from bot.policy import PromptPolicy
from bot.reports import UsageReports
from bot.settings import Settings
from bot.storage import Storage, StorageUnavailable
from bot.storage.sqlite import Database
from bot.unconfirmed import UnconfirmedDesk
from bot.webhooks import HealthReport, WebhookServer, webhook_path

DEFAULT_WEBHOOK_PATH = "/eggapi/webhook"

Clock = Callable[[], datetime]


def tracker_config(settings: Settings) -> TrackerConfig:
    """The tracker's knobs from the settings."""
    return TrackerConfig(
        poll_interval_min=settings.poll_interval_min,
        poll_interval_max=settings.poll_interval_max,
        task_deadline=settings.task_deadline,
        stale_after=settings.stale_after,
        status_edit_interval=settings.status_edit_interval,
        max_concurrent_submits=settings.max_concurrent_submits,
        max_concurrent_polls=settings.max_concurrent_polls,
        max_running_per_member=settings.max_running_per_member,
        max_running_total=settings.max_running_total,
        list_interval=settings.list_interval,
        webhook_url=settings.webhook_public_url,
    )


def lease_config(settings: Settings) -> LeaseConfig:
    """How this process keeps the leases of the tasks it follows."""
    return LeaseConfig(
        ttl=settings.lease_ttl,
        renew_interval=settings.lease_renew_interval,
        check_interval=settings.lease_check_interval,
    )


def ledger_defaults(settings: Settings) -> LedgerDefaults:
    """The quota defaults every server starts with."""
    return LedgerDefaults(
        member_limit=settings.quota_limit,
        period=settings.quota_period,
        timezone=settings.quota_timezone,
        unit_price=settings.unit_price,
        account_budget=settings.account_budget,
    )


@dataclass(frozen=True, slots=True)
class Resources:
    """What is opened before anything is built, and closed after everything stopped.

    ``metrics`` (``EGGBOT_METRICS``) is made first: the HTTP session carries its trace.
    """

    db: Storage
    http_session: aiohttp.ClientSession
    eggapi: EggAPIClient
    metrics: Metrics | None = None


def new_metrics(settings: Settings) -> Metrics | None:
    """This bot's metrics when ``EGGBOT_METRICS`` is on, else None (nothing is counted)."""
    return Metrics(eggapi_base_url=settings.eggapi_base_url) if settings.metrics_enabled else None


def session_traces(metrics: Metrics | None) -> list[aiohttp.TraceConfig]:
    """The traces the bot's HTTP session carries (EggAPI's requests counted), for ``trace_configs``."""
    return [metrics.eggapi_trace()] if metrics is not None else []


@asynccontextmanager
async def http_client(
    settings: Settings, metrics: Metrics | None = None
) -> AsyncIterator[tuple[aiohttp.ClientSession, EggAPIClient]]:
    """An HTTP session and the EggAPI client on it, closed afterwards."""
    timeout = aiohttp.ClientTimeout(total=settings.http_timeout)
    async with aiohttp.ClientSession(timeout=timeout, trace_configs=session_traces(metrics)) as session:
        yield (
            session,
            EggAPIClient(
                session,
                api_key=settings.eggapi_api_key,
                base_url=settings.eggapi_base_url,
                timeout=settings.http_timeout,
                budget=RequestBudget(settings.eggapi_rps),  # every request counts; its share of all processes'
            ),
        )


async def open_storage(settings: Settings, *, existing_database: bool = False) -> Storage:
    """The bot's database: PostgreSQL when ``DATABASE_URL`` is set, else SQLite at ``DATABASE_PATH``.

    Created and migrated as needed, unless ``existing_database`` (operator tools: open only). The
    PostgreSQL backend and its driver (the ``eggbot[postgres]`` extra) are imported only here, only
    when asked for. Raises StorageUnavailable, naming the server without its password.
    """
    if settings.database_url is None:
        return await (Database.open_existing if existing_database else Database.open)(settings.database_path)
    try:
        from bot.storage.postgres import PostgresDatabase
    except ImportError as exc:
        raise StorageUnavailable(
            f"DATABASE_URL names PostgreSQL but its driver is missing ({exc.name}): pip install 'eggbot[postgres]'"
        ) from None
    opening = PostgresDatabase.open_existing if existing_database else PostgresDatabase.open
    return await opening(settings.database_url)


@asynccontextmanager
async def open_resources(settings: Settings, *, existing_database: bool = False) -> AsyncIterator[Resources]:
    """The database (created and migrated as needed, unless ``existing_database``), HTTP session, EggAPI client."""
    db = await open_storage(settings, existing_database=existing_database)
    metrics = new_metrics(settings)
    try:
        async with http_client(settings, metrics) as (session, eggapi):
            yield Resources(db, session, eggapi, metrics)
    finally:
        await db.close()


@dataclass(frozen=True, slots=True)
class Core:
    """The core objects that need no chat platform."""

    settings: Settings
    resources: Resources
    tasks: TaskStore
    ledger: Ledger
    books: Bookkeeper
    jobs: JobService
    references: ReferenceCheck
    reconciler: Reconciler
    desk: UnconfirmedDesk
    reports: UsageReports
    prices: PriceRefresher
    guild_settings: GuildSettings
    policy: PromptPolicy
    modlog: ModLog
    members: MemberData
    history: History
    preferences: MemberPreferences
    leases: Leases
    processes: ProcessRegistry | None  # this process's share of the request budget (None: no budget)


def build_core(settings: Settings, resources: Resources, *, clock: Clock = utcnow) -> Core:
    """Every Discord-free service, once. ``clock`` is the wall clock signed URLs expire by."""
    db, eggapi = resources.db, resources.eggapi
    tasks = TaskStore(db)
    ledger = Ledger(db, ledger_defaults(settings))
    books = Bookkeeper(db, tasks, ledger)
    leases = Leases(db, new_owner(seat_of(settings.shard_ids)), lease_config(settings))
    processes = None
    if eggapi.budget is not None:
        config = lease_config(settings)
        processes = ProcessRegistry(db, leases.owner, eggapi.budget, ttl=config.ttl, interval=config.check_interval)
    reconciler = Reconciler(tasks, eggapi, grace=tracker_config(settings).reconcile_grace)
    guild_settings = GuildSettings(db)
    policy = PromptPolicy(guild_settings)
    modlog = ModLog(guild_settings)
    # An erased job's Reroll cannot run its placeholder; a server's rules, refusals mod-logged.
    intake_checks: list[IntakeCheck] = [refuse_erased, modlog.watch(policy.check)]
    return Core(
        settings=settings,
        resources=resources,
        tasks=tasks,
        ledger=ledger,
        books=books,
        jobs=JobService(
            db,
            tasks,
            ledger,
            books,
            max_queued_per_member=settings.max_queued_per_member,
            checks=intake_checks,
            leases=leases,
        ),
        references=ReferenceCheck(clock=clock),
        reconciler=reconciler,
        desk=UnconfirmedDesk(tasks, books, eggapi, reconciler),
        reports=UsageReports(db, ledger),
        prices=PriceRefresher(eggapi, ledger, settings.price_refresh_interval),
        guild_settings=guild_settings,
        policy=policy,
        modlog=modlog,
        members=MemberData(db, forget=guild_settings.forget_member),
        history=History(db),
        preferences=MemberPreferences(guild_settings, policy),
        leases=leases,
        processes=processes,
    )


@dataclass(frozen=True, slots=True)
class Services:
    """The core, plus what follows tasks to their end and shows them to members."""

    core: Core
    foreground: Foreground
    board: StatusBoard
    tracker: Tracker
    web: WebhookServer | None
    remakes: Remakes


def build_services(
    core: Core,
    publisher: Publisher,
    health: Callable[[], Awaitable[HealthReport]],
    modlog_port: ModLogPort | None = None,
) -> Services:
    """The running parts, once, around the chat platform's ``publisher`` (``health`` answers /healthz).

    ``modlog_port`` is where the mod-log posts; without one nothing is posted.
    """
    settings, eggapi = core.settings, core.resources.eggapi
    if modlog_port is not None:
        core.modlog.attach(modlog_port)

    metrics = core.resources.metrics

    def on_delivered(task: TaskRecord, message_ids: Sequence[int]) -> None:
        if metrics is not None:
            metrics.delivered(task)
        if modlog_port is not None:
            core.modlog.record(task.guild_id, job_posted(task, message_ids))

    config = tracker_config(settings)
    foreground = Foreground()
    books = core.books.fenced(core.leases.owner)  # the tracker's moves: only while this process holds the lease

    async def status_removed(task_id: int) -> None:
        await core.tasks.update(task_id, status_message_id=None)

    board = StatusBoard(config.status_edit_interval, publisher, foreground=foreground, on_removed=status_removed)
    deliverer = Deliverer(
        core.tasks,
        books,
        eggapi,
        publisher,
        board,
        max_image_bytes=settings.max_image_bytes,
        on_delivered=on_delivered if modlog_port is not None or metrics is not None else None,
        fence=core.leases.confirm,
    )
    remakes = Remakes(core.tasks, publisher, core.references)
    tracker = Tracker(
        core.tasks,
        books,
        eggapi,
        config,
        board=board,
        outcomes=Outcomes(core.tasks, books, board, publisher),
        deliverer=deliverer,
        reconciler=core.reconciler,
        foreground=foreground,
        references=core.references,
        leases=core.leases,
        refresh=remakes.before_submit,
    )
    web = None
    if settings.web_server_enabled:
        scrape = None
        if metrics is not None:
            scrape = metrics.handler(lambda: read_gauges(core.resources.db, lambda: tracker.in_flight))
        web = WebhookServer(
            host=settings.webhook_host,
            port=settings.webhook_port,
            path=webhook_path(settings.webhook_public_url or DEFAULT_WEBHOOK_PATH),
            secret=settings.webhook_secret,
            on_hint=tracker.hint,
            health=health,
            request_timeout=settings.webhook_timeout,
            max_connections=settings.webhook_max_connections,
            webhooks=settings.webhooks_enabled,  # health-only mode serves no POST route at all
            metrics=scrape,
        )
    return Services(core, foreground, board, tracker, web, remakes)
