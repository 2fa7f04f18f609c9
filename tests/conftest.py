"""Shared fixtures: a fake Discord world, a fake EggAPI, and a way to run (and restart) the real bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from testkit.backends import BACKENDS, AnyDatabase, Backend
from testkit.fake_discord import FakeChannel, FakeMember
from testkit.fake_eggapi import FakeEggAPI
from testkit.postgres import PostgresServer, find_binaries, required
from testkit.processes import BotProcess
from testkit.starter import BotStarter
from testkit.world import World, running_world


@pytest.fixture
async def eggapi() -> AsyncIterator[FakeEggAPI]:
    """A running fake EggAPI."""
    async with FakeEggAPI() as fake:
        yield fake


@pytest.fixture
async def world() -> AsyncIterator[World]:
    """A running fake Discord with one guild."""
    async with running_world() as world:
        yield world


@pytest.fixture
def bot_database() -> dict[str, str]:
    """The database settings of the bots a test starts: none (SQLite in the test's folder) unless filled.

    ``on_each_backend`` fills it before the test body runs; ``start_bot`` and ``bot_process`` read
    it at each start.
    """
    return {}


@pytest.fixture
async def start_bot(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, bot_database: dict[str, str]
) -> AsyncIterator[BotStarter]:
    """``bot = await start_bot(**env_overrides)``; ``await start_bot.stop()`` stops it (the database stays)."""
    async with BotStarter(tmp_path, world, eggapi, database=bot_database) as starter:
        yield starter


@pytest.fixture
async def bot_process(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, bot_database: dict[str, str]
) -> AsyncIterator[BotProcess]:
    """``python -m bot`` against the fakes, not yet started; it must have exited cleanly by the end."""
    process = BotProcess(tmp_path, world.fake, eggapi)
    process.database = bot_database
    try:
        yield process
    finally:
        code = await process.stop()
        assert code == 0, process.output()


@pytest.fixture
async def pair(backend: Backend) -> AsyncIterator[tuple[AnyDatabase, AnyDatabase]]:
    """Two processes' worth of storage on the test's one database, once per backend."""
    first = await backend.open()
    second = await backend.open()
    try:
        yield first, second
    finally:
        await second.close()
        await first.close()


@pytest.fixture
def mod(world: World) -> FakeMember:
    """A moderator: a member with Manage Server."""
    return world.fake.add_member(world.guild, "mod", permissions="MANAGE_GUILD")


@pytest.fixture
def mods(world: World) -> FakeChannel:
    """A #mods channel (for the mod-log, say)."""
    return world.fake.add_channel(world.guild, "mods")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session (skipped without one, unless CI requires it)."""
    bindir = find_binaries()
    if bindir is None:
        if required():
            pytest.fail("EGGBOT_REQUIRE_POSTGRES=1 but no PostgreSQL server (initdb, pg_ctl) is installed")
        pytest.skip("no PostgreSQL server installed (Debian: apt-get install postgresql)")
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """The test's own database, once on SQLite and once on PostgreSQL (``backend.open()``)."""
    server = request.getfixturevalue("postgres_server") if request.param == "postgres" else None
    chosen = Backend(request.param, tmp_path, server)
    try:
        yield chosen
    finally:
        await chosen.drop()


@pytest.fixture
async def on_each_backend(backend: Backend, bot_database: dict[str, str]) -> Backend:
    """Run the test once per backend, its bots on the test's own database there (``backend``).

    For a module: ``pytestmark = pytest.mark.usefixtures("on_each_backend")``. Every start of
    ``start_bot`` and ``bot_process`` gets that database unless it names one, so a restart within
    the test finds what the last run left; ``backend.open()`` opens it too, for an operator's tools
    or a look beside the bot. A test about SQLite itself is marked ``testkit.backends.SQLITE_ONLY``.
    """
    if backend.postgres:
        bot_database["DATABASE_URL"] = await backend.url()
    else:
        bot_database["DATABASE_PATH"] = str(backend.path)
    return backend


@pytest.fixture
async def postgres(tmp_path: Path, postgres_server: PostgresServer) -> AsyncIterator[Backend]:
    """A PostgreSQL database of the test's own, for tests that are about PostgreSQL only."""
    chosen = Backend("postgres", tmp_path, postgres_server)
    try:
        yield chosen
    finally:
        await chosen.drop()
