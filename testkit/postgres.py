"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` in a temporary directory.

``PostgresServer.start()`` finds Debian's server binaries (``/usr/lib/postgresql/*/bin``, or
``pg_ctl`` on the PATH), creates a cluster owned by an unprivileged user when running as root
(PostgreSQL refuses to run as root; the ``postgres`` user Debian's package creates, via
``runuser``), and serves it on a free loopback port with a password (scram), as an operator's
server would. Durability is switched off (``fsync=off``): the data dies with the test session.
A migrated template database is prepared once, so ``create_database()`` gives each test a fresh,
migrated database in milliseconds. ``stop()`` ends the server and removes the directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from bot.storage.postgres import PostgresDatabase

log = logging.getLogger(__name__)

T = TypeVar("T")

USER = "eggbot"
PASSWORD = "test-password-Do-Not-Log"  # a real password, so tests can check it never reaches a log
TEMPLATE = "eggbot_template"
REQUIRE_ENV = "EGGBOT_REQUIRE_POSTGRES"


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, newest version first, or None."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name, reverse=True):
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").is_file() else None


def required() -> bool:
    """Whether a missing server is a failure (CI sets EGGBOT_REQUIRE_POSTGRES=1) rather than a skip."""
    return os.environ.get(REQUIRE_ENV, "").strip() in ("1", "true", "yes")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end on a loop of its own (callable from inside a running loop too)."""
    result: list[T] = []
    errors: list[BaseException] = []

    def main() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # handed to the caller
            errors.append(exc)

    worker = threading.Thread(target=main, name="postgres-setup")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return result[0]


class PostgresServer:
    """One PostgreSQL cluster for a test session."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="eggbot-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._owner: pwd.struct_passwd | None = None
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        command: Sequence[str] = [str(self.bindir / args[0]), *args[1:]]
        if self._owner is not None:
            command = ["runuser", "-u", self._owner.pw_name, "--", *command]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        """Create the cluster, start it and prepare the migrated template database."""
        if os.geteuid() == 0:
            try:
                self._owner = pwd.getpwnam("postgres")
            except KeyError:
                self._owner = pwd.getpwnam("nobody")
            os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)
        password_file = self.root / "password"
        password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        if self._owner is not None:
            os.chown(password_file, self._owner.pw_uid, self._owner.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={password_file}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        try:
            _in_thread(self._prepare_template())
        except BaseException:
            self.stop()
            raise

    def url(self, database: str) -> str:
        """A connection URL for one of the cluster's databases, password included."""
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url("postgres"))

    async def _prepare_template(self) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f"CREATE DATABASE {TEMPLATE}")
        finally:
            await admin.close()
        db = await PostgresDatabase.open(self.url(TEMPLATE))
        await db.close()

    async def create_database(self, *, empty: bool = False) -> str:
        """A fresh database (migrated, unless ``empty``); returns its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        admin = await self._admin()
        try:
            template = "template0" if empty else TEMPLATE
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        finally:
            await admin.close()
        return self.url(name)

    async def admin(self, sql: str) -> None:
        """Run one statement as the cluster's superuser, from its maintenance database (tests' faults)."""
        admin = await self._admin()
        try:
            await admin.execute(sql)
        finally:
            await admin.close()

    async def drop_database(self, url: str) -> None:
        """Remove a database made by ``create_database`` (its connections are ended)."""
        name = url.rsplit("/", 1)[-1]
        admin = await self._admin()
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()

    def stop(self) -> None:
        """Stop the server at once and remove its files."""
        with contextlib.suppress(RuntimeError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
