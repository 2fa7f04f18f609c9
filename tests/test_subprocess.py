"""`python -m bot` as an operator runs it: env vars only, against the fakes, one full /imagine."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from decimal import Decimal
from pathlib import Path

import aiohttp

from bot.clock import utcnow
from bot.eggapi import EggAPIClient, GenerateRequest
from bot.ledger import Ledger, LedgerDefaults
from bot.lifecycle.intake import JobService
from bot.lifecycle.model import ImagineRequest, TaskStatus
from bot.lifecycle.task_store import TaskStore
from bot.lifecycle.transitions import Bookkeeper
from bot.storage.sqlite import Database
from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import DEFAULT_API_KEY, FakeEggAPI, png_bytes
from testkit.processes import BotProcess, bot_env
from testkit.world import World


async def test_python_m_bot_round_trip(tmp_path: Path, world: World, eggapi: FakeEggAPI) -> None:
    fake = world.fake
    bot = BotProcess(tmp_path, fake, eggapi)
    try:
        await bot.start()
        await fake.wait_for(lambda f: f.sync_count >= 1, timeout=10)
        handle = await fake.slash(world.alice, world.general, "imagine", prompt="a fox from a subprocess", count=2)
        await handle.wait_ack()
        result = await fake.wait_for_message(world.general, lambda m: bool(m.attachments), timeout=20)
        [egg_id] = list(eggapi.tasks)
        assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0), png_bytes(egg_id, 1)]
        assert world.alice.mention in result.content and "a fox from a subprocess" in result.content
    finally:
        code = await bot.stop()
    output = bot.output()
    assert code == 0, output
    assert "stop requested" in output
    assert fake.token not in output and DEFAULT_API_KEY not in output  # secrets never logged
    # The operator reads what the bot is about to do in words.
    assert f"bot: starting: EggAPI at {eggapi.url}, database {tmp_path / 'data' / 'eggbot.db'}, " in output
    assert "{'" not in output and "voice will NOT be supported" not in output  # no repr dump, no voice noise

    assert (tmp_path / "data" / "eggbot.db").exists()
    assert_clean(fake)


async def test_python_m_bot_sync_forces_a_sync_and_exits(tmp_path: Path, world: World) -> None:
    fake = world.fake
    env = bot_env(tmp_path, fake, "http://127.0.0.1:9")  # EggAPI is never contacted by a sync
    for expected_syncs in (1, 2):  # forced even when nothing changed
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "sync",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, output.decode()
        assert fake.sync_count == expected_syncs
    assert fake.gateway.identify_count == 0  # a sync logs in over REST only
    assert {c["name"] for c in fake.global_commands} == {
        "imagine",
        "balance",
        "quota",
        "usage",
        "policy",
        "mydata",
        "history",
        "show",
        "settings",
        "help",
    }


async def _operator(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_python_m_bot_unconfirmed_lists_and_settles_them(
    tmp_path: Path, world: World, eggapi: FakeEggAPI
) -> None:
    env = bot_env(tmp_path, world.fake, eggapi.url)
    async with await Database.open(tmp_path / "data" / "eggbot.db") as db:  # a submit whose answer was lost
        store = TaskStore(db)
        ledger = Ledger(db, LedgerDefaults(member_limit=Decimal("1.00"), period="day"))
        task = await JobService(db, store, ledger, Bookkeeper(db, store, ledger)).create(
            ImagineRequest(guild_id=1, channel_id=2, member_id=3, prompt="a lost fox")
        )
        await store.transition(task.id, TaskStatus.QUEUED, TaskStatus.SUBMITTING, submitted_at=utcnow())
        await store.transition(task.id, TaskStatus.SUBMITTING, TaskStatus.UNKNOWN, error="TIMEOUT")
    async with aiohttp.ClientSession() as session:
        egg = await EggAPIClient(session, api_key=DEFAULT_API_KEY, base_url=eggapi.url).generate(
            GenerateRequest(prompt="a lost fox")
        )

    code, out, err = await _operator(env, tmp_path, "unconfirmed")
    assert code == 0, err
    assert f"task {task.id}" in out and "'a lost fox'" in out and egg.id in out
    code, out, err = await _operator(env, tmp_path, "unconfirmed", "adopt", str(task.id), "gen_nonexistent")
    assert code == 1 and err.strip().splitlines()[-1] == "eggbot: EggAPI does not know a task 'gen_nonexistent'."
    code, out, err = await _operator(env, tmp_path, "unconfirmed", "adopt", str(task.id), egg.id)
    assert code == 0 and f"task {task.id} now follows EggAPI task {egg.id}" in out, err
    for malformed in (["release"], ["release", "²"], ["release", "1", "--now"], ["adopt", "1"]):
        code, out, err = await _operator(env, tmp_path, "unconfirmed", *malformed)
        assert code == 2 and "usage: python -m bot" in err, malformed
    elsewhere = {**env, "DATABASE_PATH": str(tmp_path / "nowhere" / "eggbot.db")}
    code, out, err = await _operator(elsewhere, tmp_path, "unconfirmed")
    assert code == 1 and "cannot use the bot's database" in err and not (tmp_path / "nowhere").exists()
    async with await Database.open(tmp_path / "data" / "eggbot.db") as db:
        adopted = await TaskStore(db).get(task.id)
    assert adopted is not None and adopted.status is TaskStatus.RUNNING and adopted.egg_task_id == egg.id
    code, out, _ = await _operator(env, tmp_path, "unconfirmed")
    assert code == 0 and out.strip() == "No unconfirmed submits."


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _run_to_exit(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()  # a bot that did not stop by itself must not outlive the test
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_unreachable_discord_is_one_error_line(tmp_path: Path, world: World, eggapi: FakeEggAPI) -> None:
    """O10 and O5: no traceback when Discord can't be reached; a plain-http webhook URL warns like a setting."""
    port = _closed_port()
    env = bot_env(
        tmp_path,
        world.fake,
        eggapi.url,
        DISCORD_API_BASE=f"http://127.0.0.1:{port}/api/v10",
        EGGBOT_WEBHOOK_PUBLIC_URL="http://127.0.0.1:9/eggapi/webhook",
    )
    code, output = await _run_to_exit(env, tmp_path)
    assert code == 1, output
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert lines[0] == (
        "eggbot: warning: EGGBOT_WEBHOOK_PUBLIC_URL: should be https, as EggAPI documents "
        "(got 'http://127.0.0.1:9/eggapi/webhook'); starting anyway"
    )
    errors = [line for line in lines if " ERROR " in line]
    assert len(errors) == 1, output
    assert f" ERROR    bot: cannot reach Discord at 127.0.0.1:{port} (" in errors[0]
    assert errors[0].endswith("); check the network and try again") and lines[-1] == errors[0]


async def test_a_refused_eggapi_key_stops_the_bot_at_start(tmp_path: Path, world: World, eggapi: FakeEggAPI) -> None:
    """O11: a wrong EggAPI key is an ERROR at start and a clear stop, not a WARNING found later."""
    env = bot_env(tmp_path, world.fake, eggapi.url, EGGAPI_API_KEY="egg_sk_wrong")
    code, output = await _run_to_exit(env, tmp_path)
    assert code == 1, output
    errors = [line for line in output.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and errors[0].endswith(
        "bot.ledger.prices: EggAPI refused EGGAPI_API_KEY (UNAUTHORIZED); check the key in the EggAPI dashboard"
    ), output
    assert "Traceback" not in output and "egg_sk_wrong" not in output
    assert eggapi.count("POST", "/v1/generate") == 0


async def test_after_login_one_line_says_ready_where_and_how_to_invite(
    tmp_path: Path, world: World, eggapi: FakeEggAPI
) -> None:
    """O8: the operator learns the bot is up, in how many servers, and gets its invite link."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=bot_env(tmp_path, world.fake, eggapi.url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    seen: list[str] = []

    async def until_ready() -> str:
        while line := (await proc.stdout.readline()).decode():  # type: ignore[union-attr]
            seen.append(line)
            if "ready as" in line:
                return line.rstrip("\n")
        raise AssertionError("the bot exited before it was ready:\n" + "".join(seen))

    try:
        ready = await asyncio.wait_for(until_ready(), 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(proc.communicate(), 30)
    invite = (
        f"https://discord.com/oauth2/authorize?client_id={world.fake.application_id}"
        "&scope=bot+applications.commands&permissions=274878008320"
    )
    user = world.fake.bot_user
    assert ready.endswith(f" INFO     bot.app.client: ready as {user.username} in 1 server; invite it with {invite}"), (
        ready
    )
    assert proc.returncode == 0 and "ready as" not in rest.decode()  # said once


async def test_the_operator_command_never_loads_discord(tmp_path: Path, world: World, eggapi: FakeEggAPI) -> None:
    """``python -m bot unconfirmed`` builds its objects from the composition root without discord.py."""
    env = bot_env(tmp_path, world.fake, eggapi.url)
    async with await Database.open(tmp_path / "data" / "eggbot.db"):
        pass
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-X",
        "importtime",
        "-m",
        "bot",
        "unconfirmed",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0 and out.decode().strip() == "No unconfirmed submits."
    timings = [line for line in err.decode().splitlines() if line.startswith("import time:")]
    imported = [line.rsplit("|", 1)[-1].strip() for line in timings]
    assert "bot.services" in imported and "bot.unconfirmed.cli" in imported  # the listing is real
    assert [name for name in imported if name.split(".")[0] == "discord"] == []
