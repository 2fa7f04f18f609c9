"""Driver side: the fakes (in this process) and the bot (in its own process), wired on 127.0.0.1.

The bot runs as ``python -m bench.botproc`` so that its CPU time, RSS and event-loop lag are its
own and are not mixed with the fakes' work; the two processes share ``time.monotonic()``
(CLOCK_MONOTONIC), so the bot's transition times and the fakes' request times are comparable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from testkit.fake_discord import FakeChannel, FakeDiscord, FakeGuild, FakeMember
from testkit.fake_eggapi import FakeEggAPI, TaskPlan
from testkit.processes import bot_env

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "whsec_bench_secret"
TERMINAL = frozenset({"delivered", "failed", "rejected", "undeliverable", "cancelled"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StampedList(list):  # type: ignore[type-arg]
    """A list that notes ``time.monotonic()`` of every append in ``stamps`` (same index)."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[float] = []

    def append(self, item: Any) -> None:
        self.stamps.append(time.monotonic())
        super().append(item)


class TimedEggAPI(FakeEggAPI):
    """The project's fake EggAPI, also noting when (monotonic) each request arrived and each task finished."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requests: StampedList = StampedList()
        self.finished_at: dict[str, float] = {}
        self.plans: dict[str, TaskPlan] = {}

    def plan_for(self, prompt: str, plan: TaskPlan) -> None:
        """The plan of the task submitted with this prompt (FIFO ``plan_next`` cannot tell
        concurrent submits apart, and a refused /imagine would leave its plan to the next task)."""
        self.plans[prompt] = plan

    def _generate(self, raw: bytes) -> Any:
        try:
            prompt = json.loads(raw).get("prompt")
        except (ValueError, AttributeError):
            prompt = None
        plan = self.plans.get(prompt) if isinstance(prompt, str) else None
        if plan is None:
            return super()._generate(raw)
        saved, self.default_plan = self.default_plan, plan
        try:
            return super()._generate(raw)
        finally:
            self.default_plan = saved

    def _finish(self, task: Any, outcome: str, **kwargs: Any) -> None:
        self.finished_at.setdefault(task.id, time.monotonic())
        super()._finish(task, outcome, **kwargs)


@dataclass
class Crowd:
    """One guild, named sets of text channels, and ``members`` members (the benchmark's load, not
    :class:`testkit.world.World`, the tests' two-member guild)."""

    fake: FakeDiscord
    guild: FakeGuild
    channels_by_set: dict[str, list[FakeChannel]]
    members: list[FakeMember]


@dataclass
class TaskTimes:
    """What the driver knows about one bot task: the first time it entered each status."""

    id: int
    at: dict[str, float] = field(default_factory=dict)

    @property
    def terminal(self) -> str | None:
        return next((s for s in self.at if s in TERMINAL), None)


class ProbedBot:
    """One ``python -m bench.botproc`` child and the stream of its task transitions.

    Not :class:`testkit.processes.BotProcess`: this child is the bot plus probes, driven over a
    JSON-lines protocol on stdin/stdout, and stopped through it.
    """

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None
        self.tasks: dict[int, TaskTimes] = {}
        self.acks: dict[int, tuple[float | None, float | None, float]] = {}
        self.ready: dict[str, Any] = {}
        self._cond = asyncio.Condition()
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._command_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.get_running_loop().create_future()
        self._log_file: Any = None

    async def start(self, timeout: float = 60.0) -> None:
        self._log_file = self.log_path.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.botproc",
            cwd=str(ROOT),
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log_file,
            limit=16 * 1024 * 1024,
        )
        self._reader = asyncio.create_task(self._read())
        try:
            self.ready = await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except BaseException:
            await self.stop()
            raise RuntimeError(f"the bot process did not get ready; see {self.log_path}\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def _read(self) -> None:
        try:
            await self._read_lines()
        except BaseException as exc:
            print(f"[bench] reading the bot process failed: {exc!r}", file=sys.stderr)
            raise
        finally:
            if not self._ready.done():
                self._ready.set_exception(RuntimeError("bot process exited"))
            async with self._cond:
                self._cond.notify_all()

    async def _read_lines(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                message = json.loads(line)
            except ValueError:
                continue
            kind = message.get("ev")
            if kind == "t":
                for task_id, status, at in message["items"]:
                    times = self.tasks.setdefault(task_id, TaskTimes(task_id))
                    times.at.setdefault(status, at)
                async with self._cond:
                    self._cond.notify_all()
            elif kind == "ack":
                for interaction_id, received, sent, answered in message["items"]:
                    self.acks[interaction_id] = (received, sent, answered)
            elif kind == "ready" and not self._ready.done():
                self._ready.set_result(message)
            elif kind == "reply":
                await self._replies.put(message)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def command(self, name: str, timeout: float = 30.0, **args: Any) -> dict[str, Any]:
        """Send one command and wait for its reply."""
        async with self._command_lock:
            assert self.proc is not None and self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"cmd": name, **args}).encode() + b"\n")
            await self.proc.stdin.drain()
            return await asyncio.wait_for(self._replies.get(), timeout)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait (event-driven, bounded) until ``predicate()`` holds over the transitions seen so far."""
        async with self._cond:
            try:
                await asyncio.wait_for(self._cond.wait_for(lambda: predicate() or not self.alive), timeout)
            except TimeoutError:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}") from None
        if not predicate():
            raise RuntimeError(f"the bot process exited while waiting for {what}\n{self.log_tail()}")

    async def stop(self, timeout: float = 20.0) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.write(b'{"cmd": "stop"}\n')
                await proc.stdin.drain()
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)
        if self._log_file is not None:
            self._log_file.close()
        return proc.returncode


@dataclass
class Group:
    """A running world: fakes, the bot process, and the scratch folder holding its database and log."""

    world: Crowd
    eggapi: TimedEggAPI
    bot: ProbedBot
    tmp: Path
    webhooks: bool

    prompts: dict[int, str] = field(default_factory=dict)

    def _refresh(self) -> None:
        """Learn the prompt of every task the bot reported (the row exists before the first transition)."""
        if all(i in self.prompts for i in self.bot.tasks):
            return
        path = self.tmp / "eggbot.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = conn.execute("SELECT id, prompt FROM tasks WHERE id > ?", (max(self.prompts, default=0),))
            self.prompts.update((int(i), str(p)) for i, p in rows)
        finally:
            conn.close()

    def ids(self, prefix: str) -> list[int]:
        """Bot task ids whose prompt starts with ``prefix`` (each scenario uses prompts of its own)."""
        self._refresh()
        return sorted(i for i, p in self.prompts.items() if p.startswith(prefix))

    def count(self, prefix: str, statuses: frozenset[str] | set[str]) -> int:
        """How many of the ``prefix`` tasks have reached one of ``statuses``."""
        tasks = self.bot.tasks
        return sum(1 for i in self.ids(prefix) if i in tasks and any(s in tasks[i].at for s in statuses))

    async def wait_tasks(
        self,
        prefix: str,
        statuses: frozenset[str] | set[str],
        n: int,
        timeout: float,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        """Wait (event-driven, bounded) until ``n`` of the ``prefix`` tasks reached one of ``statuses``."""

        def done() -> bool:
            have = self.count(prefix, statuses)
            if on_progress is not None:
                on_progress(have)
            return have >= n

        await self.bot.wait_until(done, timeout, f"{n} {prefix!r} task(s) to reach {sorted(statuses)}")

    def db_rows(self) -> dict[int, dict[str, Any]]:
        """The bot's task rows (read-only, beside the running bot: WAL allows it)."""
        path = self.tmp / "eggbot.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM tasks").fetchall()
        finally:
            conn.close()
        out = {}
        for row in rows:
            item = dict(row)
            try:
                item["result_message_ids"] = [int(m) for m in json.loads(item.get("result_message_ids") or "[]")]
            except (TypeError, ValueError):
                item["result_message_ids"] = []
            out[int(item["id"])] = item
        return out

    def posts(self, rows: dict[int, dict[str, Any]] | None = None) -> dict[int, float]:
        """Bot task id -> arrival time of the last channel message carrying its images.

        Tasks are matched to messages through the ids the bot recorded (``result_message_ids``),
        so results merged into one message, or split over several, are timed correctly.
        """
        rows = self.db_rows() if rows is None else rows
        created: dict[int, float] = {}
        for record in self.world.fake.requests:
            if record.method != "POST" or record.status != 200 or not _MESSAGES.match(record.path):
                continue
            if isinstance(record.response, dict) and str(record.response.get("id", "")).isdigit():
                created[int(record.response["id"])] = record.timestamp
        found: dict[int, float] = {}
        for task_id, row in rows.items():
            times = [created[m] for m in row["result_message_ids"] if m in created]
            if times:
                found[task_id] = max(times)
        return found


_MESSAGES = re.compile(r"^/channels/\d+/messages$")


@contextlib.asynccontextmanager
async def running_group(
    *,
    members: int,
    channel_sets: dict[str, int],
    env: dict[str, str],
    webhooks: bool,
    rate_limit: tuple[int, float] | None = None,
    keep_dir: Path | None = None,
) -> AsyncIterator[Group]:
    """Start the fakes and a bot process with ``env`` (bot settings); stop everything afterwards."""
    with tempfile.TemporaryDirectory(prefix="eggbot-bench-") as scratch:
        tmp = Path(scratch)
        async with TimedEggAPI(webhook_secret=WEBHOOK_SECRET if webhooks else None) as started, FakeDiscord() as fake:
            eggapi = cast(TimedEggAPI, started)
            if rate_limit is not None:
                fake.enable_rate_limit(*rate_limit)
            guild = fake.add_guild("Bench Guild")
            chans = {
                name: [fake.add_channel(guild, f"{name}-{i}") for i in range(max(1, count))]
                for name, count in channel_sets.items()
            }
            people = [fake.add_member(guild, f"member{i}") for i in range(max(1, members))]
            overrides = dict(env)
            if webhooks:
                port = free_port()
                overrides.update(
                    {
                        "EGGBOT_WEBHOOK_HOST": "127.0.0.1",
                        "EGGBOT_WEBHOOK_PORT": str(port),
                        "EGGBOT_WEBHOOK_PUBLIC_URL": f"http://127.0.0.1:{port}/eggapi/webhook",
                        "EGGBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
                    }
                )
            env = bot_env(
                tmp,
                fake,
                eggapi.url,
                {},
                LANG=os.environ.get("LANG", "C.UTF-8"),
                PYTHONUNBUFFERED="1",
                DATABASE_PATH=str(tmp / "eggbot.db"),
                **overrides,
            )
            bot = ProbedBot(env, tmp / "bot.log")
            try:
                await bot.start()
                world = Crowd(fake, guild, chans, people)
                yield Group(world, eggapi, bot, tmp, webhooks=bool(bot.ready.get("webhooks")))
            finally:
                await bot.stop()
                if keep_dir is not None:
                    keep_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, after the run
                    with contextlib.suppress(OSError):
                        (keep_dir / "bot.log").write_bytes((tmp / "bot.log").read_bytes())
