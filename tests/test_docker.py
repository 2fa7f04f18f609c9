"""The Dockerfile's HEALTHCHECK and compose.yaml, without a Docker daemon.

The HEALTHCHECK's own command is run against a real bot's health server; compose.yaml is read with a
small reader for the block-style YAML it is written in (no YAML parser is installed here), so its
structure is checked, not just its text.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.settings import load_settings
from testkit.fake_discord import assert_clean
from testkit.fake_eggapi import FakeEggAPI
from testkit.processes import ROOT
from testkit.starter import BotStarter
from testkit.world import World
from tests.test_e2e_webhooks import free_port

KEY = re.compile(r"^([A-Za-z_][\w.-]*):(?:\s+(.*))?$")  # "key: value" or "key:" (a colon then a space, or the end)
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"


def dockerfile_instruction(name: str) -> str:
    """One instruction of the Dockerfile with its continuation lines joined."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if line.startswith(name + " ")]
    return line[len(name) + 1 :].strip()


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK's CMD, in exec form (a JSON array, as Docker reads it)."""
    options, _, command = dockerfile_instruction("HEALTHCHECK").partition("CMD ")
    assert "--timeout=5s" in options and "--start-period=" in options
    parsed = json.loads(command)
    assert isinstance(parsed, list) and all(isinstance(part, str) for part in parsed)
    return parsed


def read_yaml(text: str) -> Any:
    """The block-style YAML subset compose.yaml uses: mappings, ``- `` lists, scalars and JSON-like flow lists."""
    rows = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.strip():
            rows.append((len(line) - len(line.lstrip(" ")), line.strip()))

    def scalar(value: str) -> Any:
        if value.startswith("["):
            return json.loads(value)
        return value[1:-1] if value[:1] == value[-1:] and value[:1] in "\"'" else value

    def block(start: int, indent: int) -> tuple[Any, int]:
        if rows[start][1].startswith("- "):
            items: list[Any] = []
            index = start
            while index < len(rows) and rows[index][0] == indent and rows[index][1].startswith("- "):
                first = rows[index][1][2:]
                if KEY.match(first):  # a mapping as a list item
                    rows[index] = (indent + 2, first)
                    value, index = block(index, indent + 2)
                else:
                    value, index = scalar(first), index + 1
                items.append(value)
            return items, index
        mapping: dict[str, Any] = {}
        index = start
        while index < len(rows) and rows[index][0] == indent:
            match = KEY.match(rows[index][1])
            assert match is not None, f"not a mapping entry: {rows[index]}"
            key, rest = match.group(1), (match.group(2) or "").strip()
            if rest:
                mapping[key], index = scalar(rest), index + 1
            elif index + 1 < len(rows) and rows[index + 1][0] > indent:
                mapping[key], index = block(index + 1, rows[index + 1][0])
            else:
                mapping[key], index = None, index + 1
        return mapping, index

    value, end = block(0, 0)
    assert end == len(rows), f"unread YAML from line {rows[end]}"
    return value


async def probe(command: list[str], port: int) -> tuple[int, str]:
    """Run the HEALTHCHECK's command as Docker would in the container (this interpreter as ``python``)."""
    assert command[0] == "python"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "EGGBOT_WEBHOOK_PORT": str(port)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_the_healthcheck_command_probes_a_real_bot(
    world: World, eggapi: FakeEggAPI, start_bot: BotStarter
) -> None:
    command = healthcheck_command()
    assert "curl" not in command and "wget" not in command  # not in slim images
    assert "EGGBOT_HEALTHZ=true" in dockerfile_instruction("ENV")  # the image serves what it probes
    port = free_port()
    await start_bot(EGGBOT_HEALTHZ="true", EGGBOT_WEBHOOK_HOST="127.0.0.1", EGGBOT_WEBHOOK_PORT=str(port))
    code, out = await probe(command, port)
    assert code == 0 and f"healthy: http://127.0.0.1:{port}/healthz: 200" in out
    await start_bot.stop()
    code, out = await probe(command, port)
    assert code == 1 and "no answer" in out
    assert_clean(world.fake)


async def test_a_degraded_bot_is_unhealthy() -> None:
    async def degraded(request: web.Request) -> web.Response:
        return web.json_response({"status": "degraded"}, status=503)

    app = web.Application()
    app.router.add_get("/healthz", degraded)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        code, out = await probe(healthcheck_command(), port)
    finally:
        await runner.cleanup()
    assert code == 1 and "503" in out


def test_compose_runs_the_bot_with_its_volume_and_health_check_and_the_playground_as_a_profile() -> None:
    compose = read_yaml(COMPOSE.read_text(encoding="utf-8"))
    bot, playground = compose["services"]["bot"], compose["services"]["playground"]
    assert bot["build"] == "." and "profiles" not in bot and "command" not in bot  # the image's default: the bot
    assert bot["volumes"] == ["eggbot-data:/data"] and "eggbot-data" in compose["volumes"]
    assert bot["healthcheck"]["test"] == ["CMD", *healthcheck_command()]  # the command tested above
    assert bot["restart"] == "unless-stopped"
    assert bot["env_file"] == [{"path": ".env", "required": "false"}]
    assert playground["profiles"] == ["playground"] and playground["command"] == ["playground"]
    assert playground["ports"] == ["127.0.0.1:8090:8090"]  # published on this machine only
    assert playground["healthcheck"]["test"] == [*["CMD", *healthcheck_command()], "http://127.0.0.1:8090/"]
    for service in (bot, playground):
        assert {"interval", "timeout", "start_period", "retries"} <= set(service["healthcheck"])


def test_the_yaml_reader_reads_what_it_is_given() -> None:
    text = 'a:\n  b: ["x", "y"]  # note\n  c:\n    - one\n    - path: p\n      required: false\nd: \'q\'\n'
    assert read_yaml(text) == {"a": {"b": ["x", "y"], "c": ["one", {"path": "p", "required": "false"}]}, "d": "q"}


def test_the_readme_shows_the_compose_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker compose up -d" in readme and "docker compose --profile playground up" in readme
    assert Path(COMPOSE).name in readme


def test_compose_postgres_profile_runs_two_processes_on_one_database() -> None:
    services = read_yaml(COMPOSE.read_text(encoding="utf-8"))["services"]
    bot, second, postgres = services["bot"], services["bot-2"], services["postgres"]
    assert postgres["profiles"] == second["profiles"] == ["postgres"]
    assert "ports" not in postgres  # reachable from compose's network only
    assert postgres["environment"]["POSTGRES_PASSWORD"] == "${EGGBOT_POSTGRES_PASSWORD:-}"  # no default password
    assert postgres["volumes"] == ["eggbot-postgres:/var/lib/postgresql/data"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    # The SQLite bot starts without the profile; with it, both bots wait for a healthy database.
    assert bot["depends_on"]["postgres"] == {"condition": "service_healthy", "required": "false"}
    assert second["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert second["env_file"] == bot["env_file"] and second["healthcheck"] == bot["healthcheck"]
    assert second["image"] == bot["image"] and "command" not in second
    # The .env the compose file's header asks for: with it both processes start, on shards 0 and 1 of 2.
    dotenv = {
        "DISCORD_TOKEN": "token",
        "EGGAPI_API_KEY": "egg_sk_test",
        "DATABASE_URL": "postgresql://eggbot:secret@postgres:5432/eggbot",
        "EGGBOT_SHARD_COUNT": "2",
        "EGGBOT_SHARD_IDS": "0",
    }
    header = COMPOSE.read_text(encoding="utf-8").split("services:", 1)[0]
    for name, value in dotenv.items():
        if name.startswith(("DATABASE_URL", "EGGBOT_SHARD")):
            assert f"{name}={value.replace('secret', '<that password>')}" in header
    shards = []
    for service in (bot, second):
        settings = load_settings({**dotenv, **(service.get("environment") or {})})
        assert settings.database_url == dotenv["DATABASE_URL"] and settings.shard_count == 2
        shards.append(settings.shard_ids)
    assert shards == [(0,), (1,)]


def test_env_example_documents_every_setting_read() -> None:
    """Every name the bot reads from the environment is in .env.example, and every name there is read."""
    setting = re.compile(r'"((?:EGGBOT|DISCORD|EGGAPI|DATABASE)_[A-Z0-9_]+|LOG_LEVEL)"')
    read = {
        name
        for folder in ("bot", "cogs")
        for path in (ROOT / folder).rglob("*.py")
        for name in setting.findall(path.read_text(encoding="utf-8"))
    }
    read |= set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text(encoding="utf-8")))  # compose's own variables
    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    assert {"DISCORD_TOKEN", "EGGBOT_SHARD_IDS", "EGGBOT_POSTGRES_PASSWORD"} <= read
    assert read - documented == set()
    assert documented - read == set()
