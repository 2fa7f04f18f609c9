"""Past one machine: two real ``python -m bot`` processes on two shards of one fake Discord and one PostgreSQL.

Each process answers its own shard's server and follows the jobs whose lease it holds
(``bot.lifecycle.leases``). Killed with SIGKILL, a process's leases lapse (after the tests'
``EGGBOT_LEASE_TTL``, ``testkit.settings.FAST``) and the other process takes its jobs over; stopped
cleanly, it releases them at once. What is checked is what members and the image service see: every
job's images posted exactly once (the fake Discord's messages), every job generated once (the fake
EggAPI's requests), nothing overdrawn (the database). The tests wait on those events, never on time.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from testkit.backends import Backend
from testkit.fake_discord import FakeChannel, FakeGuild, FakeMember, FakeMessage, assert_clean
from testkit.fake_discord.sharding import shard_of
from testkit.fake_eggapi import FakeEggAPI, TaskPlan, png_bytes
from testkit.fake_eggapi.models import RecordedRequest
from testkit.processes import BotProcess, sharded
from testkit.world import World

pytestmark = pytest.mark.timeout(240)

SHARDS = 2
PACE = 0.1  # seconds the fake wants between two IDENTIFYs of one bucket (as in test_e2e_sharding)
WAIT = 60  # seconds any one awaited event may take on a loaded machine: a limit, never a measurement
LATE = 10  # seconds an answer is held back so that the process dies before it arrives (it dies at once)


@dataclass
class Site:
    """One shard: its server, where members ask, and the process that runs it."""

    shard: int
    guild: FakeGuild
    channel: FakeChannel
    process: BotProcess


class Cluster:
    """The two processes, their servers and the shared database, with what the tests ask of them."""

    def __init__(self, world: World, eggapi: FakeEggAPI, url: str, processes: list[BotProcess]) -> None:
        self.world, self.eggapi, self.url = world, eggapi, url
        fake = world.fake
        fake.gateway.pacer.interval = PACE  # Discord's 5 s between IDENTIFYs, shortened; the bots keep to it
        for process in processes:
            process.env["EGGBOT_IDENTIFY_INTERVAL"] = str(5 * PACE)
        first = shard_of(world.guild.id, SHARDS)
        other = fake.add_guild("Other", shard=(1 - first, SHARDS))
        fake.add_member(other, world.alice.user)
        guilds = {first: (world.guild, world.general), 1 - first: (other, fake.add_channel(other, "general"))}
        self.sites = [Site(shard, *guilds[shard], processes[shard]) for shard in range(SHARDS)]
        self.killed: set[int] = set()

    async def start(self, *sites: Site) -> None:
        """Start these processes (all by default), shard 0 first: it syncs the commands the others use too."""
        for site in sites or self.sites:
            await site.process.start()
            self.killed.discard(site.shard)
        await self.world.fake.wait_for(lambda f: f.sync_count >= 1 or None, timeout=WAIT)

    async def kill(self, site: Site) -> None:
        await site.process.kill()
        self.killed.add(site.shard)

    async def imagine(self, site: Site, count: int, prompt: str, *, accepted: bool = True) -> list[str]:
        """``count`` /imagine by alice in the site's server, each answered with its status message; their EggAPI ids.

        With ``accepted``, also waits until each status message says the image service has the job.
        """
        fake, eggapi = self.world.fake, self.eggapi
        before = set(eggapi.tasks)
        statuses = []
        for n in range(count):
            handle = await fake.slash(self.world.alice, site.channel, "imagine", prompt=f"{prompt} {n}")
            status = await handle.wait_response()
            assert not status.ephemeral, status.content
            statuses.append(status.id)
        await eggapi.wait_until(lambda: len(set(eggapi.tasks) - before) == count, timeout=WAIT)
        if accepted:
            await fake.wait_for(
                lambda f: all("**Queued**" not in f.message(s).content for s in statuses) or None, timeout=WAIT
            )
        return sorted(set(eggapi.tasks) - before)

    def results(self) -> list[FakeMessage]:
        """Every result post in both servers (one may carry several jobs' images, posted together)."""
        return [m for site in self.sites for m in self.world.fake.messages(site.channel) if is_result(m)]

    async def wait_for_posts(self, egg_ids: list[str]) -> None:
        """Until each of these EggAPI tasks' images is in a post."""
        await self.world.fake.wait_for(lambda f: all(self.posts_of(e) for e in egg_ids) or None, timeout=WAIT)

    def posts_of(self, egg_id: str) -> int:
        """How many result posts carry this EggAPI task's first image."""
        image = png_bytes(egg_id, 0)
        return sum(1 for message in self.results() if any(a.data == image for a in message.attachments))

    async def rows(self, sql: str) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url)
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    def waiting(self) -> list[FakeMessage]:
        """Status messages still shown: a job's goes once its result is posted and recorded."""
        shown = [m for site in self.sites for m in self.world.fake.messages(site.channel)]
        return [m for m in shown if m.author.id == self.world.fake.bot_user.id and not is_result(m) and not m.ephemeral]

    async def assert_each_posted_once(self) -> None:
        """Every job EggAPI made is in exactly one post, every task delivered, every hold settled once."""
        eggapi = self.eggapi
        await self.world.fake.wait_for(lambda f: not self.waiting() or None, timeout=WAIT)
        assert eggapi.count("POST", "/v1/generate") == len(eggapi.tasks)
        assert {egg_id: self.posts_of(egg_id) for egg_id in eggapi.tasks} == dict.fromkeys(eggapi.tasks, 1)
        assert sum(len(m.attachments) for m in self.results()) == len(eggapi.tasks)  # nothing else was posted
        statuses = await self.rows("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status")
        assert {row["status"]: row["n"] for row in statuses} == {"delivered": len(eggapi.tasks)}
        holds = await self.rows("SELECT state, COUNT(*) AS n, SUM(settled) AS settled FROM ledger_holds GROUP BY state")
        assert [(row["state"], row["n"], row["settled"]) for row in holds] == [
            ("settled", len(eggapi.tasks), Decimal("0.01") * len(eggapi.tasks))
        ]


def is_result(message: FakeMessage) -> bool:
    return bool(message.attachments) and not message.ephemeral


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def cluster_env() -> dict[str, str]:
    """Settings every process of a test gets (a test adds its own before the cluster starts)."""
    return {"LOG_LEVEL": "DEBUG"}


@pytest.fixture
async def cluster(
    tmp_path: Path, world: World, eggapi: FakeEggAPI, postgres: Backend, cluster_env: dict[str, str]
) -> AsyncIterator[Cluster]:
    url = await postgres.url()
    made = Cluster(world, eggapi, url, sharded(tmp_path, world.fake, eggapi, SHARDS, url, **cluster_env))
    try:
        yield made
    finally:
        codes = {site.shard: await site.process.stop() for site in made.sites}
    for site in made.sites:
        if site.shard not in made.killed:
            assert codes[site.shard] == 0, site.process.output()


async def test_a_killed_process_jobs_are_posted_exactly_once_by_the_other(
    cluster: Cluster, world: World, eggapi: FakeEggAPI
) -> None:
    fake = world.fake
    zero, one = cluster.sites
    await cluster.start()

    # 1. Killed while its jobs run upstream: the other takes them over and polls them to the end.
    eggapi.default_plan = TaskPlan(hold=True)
    running = await cluster.imagine(zero, 3, "running")
    await cluster.kill(zero)
    for egg_id in running:
        eggapi.finish(egg_id)
    await cluster.wait_for_posts(running)
    assert "taken over" in one.process.output()

    # 2. Killed while a submit's answer is on its way: the other finds the job in EggAPI's list, never resubmits.
    await cluster.start(zero)
    eggapi.delay_next("POST", r"^/v1/generate$", LATE)
    [in_flight] = await cluster.imagine(one, 1, "in flight", accepted=False)
    await cluster.kill(one)
    eggapi.finish(in_flight)
    await cluster.wait_for_posts([in_flight])

    # 3. Killed between posting a result and hearing back: the other finds the post instead of repeating it.
    await cluster.start(one)
    eggapi.default_plan = TaskPlan()
    fake.answer_late("POST", r"^/channels/\d+/messages$", LATE)
    handle = await fake.slash(world.alice, zero.channel, "imagine", prompt="posting")
    status = await handle.wait_response()
    await fake.wait_for_message(zero.channel, lambda m: is_result(m) and "posting" in m.content, timeout=WAIT)
    await cluster.kill(zero)
    await fake.wait_for(lambda f: f.message(status.id).deleted or None, timeout=WAIT)  # the other finished it

    await cluster.start(zero)
    assert eggapi.count("POST", "/v1/generate") == 5
    await cluster.assert_each_posted_once()
    assert_clean(fake)


@pytest.mark.parametrize(
    "cluster_env",
    [{"EGGBOT_POLL_INTERVAL_MIN": "600", "EGGBOT_POLL_INTERVAL_MAX": "600", "EGGBOT_LIST_INTERVAL": "600"}],
)
async def test_a_webhook_reaching_the_process_that_does_not_follow_the_job_gets_it_posted(
    cluster: Cluster, world: World, eggapi: FakeEggAPI
) -> None:
    """A load balancer sends every webhook to shard 1's process; the job is shard 0's, which polls and reads
    EggAPI's task list only every ten minutes here: the job is posted at once only because the webhook
    reached its process after all."""
    owner, receiver = cluster.sites
    ports = [free_port() for _ in cluster.sites]
    eggapi.webhook_secret = "whsec-scale-out"
    for site in cluster.sites:
        site.process.env.update(
            EGGBOT_WEBHOOK_HOST="127.0.0.1",
            EGGBOT_WEBHOOK_PORT=str(ports[site.shard]),
            EGGBOT_WEBHOOK_PUBLIC_URL=f"http://127.0.0.1:{ports[receiver.shard]}/eggapi/webhook",
            EGGBOT_WEBHOOK_SECRET="whsec-scale-out",
        )
    await cluster.start()
    eggapi.default_plan = TaskPlan(hold=True)
    [egg_id] = await cluster.imagine(owner, 1, "hinted")
    submitted = eggapi.requests_to("POST", "/v1/generate")[-1].at
    # Its process has read EggAPI's task list once since (the job still pending there); the next read is far off.
    await eggapi.wait_for_request(lambda r: r.path == "/v1/tasks" and r.at > submitted, timeout=WAIT)
    eggapi.finish(egg_id)
    [delivery] = await eggapi.wait_for_webhooks(1, timeout=WAIT)
    assert delivery.status == 200 and f":{ports[receiver.shard]}/" in delivery.url
    result = await world.fake.wait_for_message(owner.channel, is_result, timeout=WAIT)
    assert [a.data for a in result.attachments] == [png_bytes(egg_id, 0)]
    assert eggapi.count("GET", f"/v1/tasks/{egg_id}") == 1  # asked once, by its own process, on the hint
    assert "kept for the process that follows it" in receiver.process.output()
    await cluster.assert_each_posted_once()
    assert_clean(world.fake)


@pytest.mark.parametrize(
    "cluster_env",
    [{"EGGBOT_QUOTA_LIMIT": "0.05", "EGGBOT_ACCOUNT_BUDGET": "0.08", "EGGBOT_MAX_QUEUED_PER_MEMBER": "100"}],
)
async def test_a_hundred_requests_at_the_edge_through_both_processes_never_overdraw(
    cluster: Cluster, world: World, eggapi: FakeEggAPI
) -> None:
    """One member, fifty /imagine in each process's server at once. A server's interactions reach only its
    shard's process, and a member's quota is per server; what both processes reserve against at the same
    moment is the account's budget ($0.08: eight images), so that is the edge here, with $0.05 each a server."""
    fake = world.fake
    # Answering within Discord's 3 s is measured by the benchmark; here two processes, the database and the
    # fakes share a loaded test machine, and what is checked is the money, so the fake waits longer.
    fake.ack_deadline = WAIT / 2
    await cluster.start()
    handles = await asyncio.gather(
        *(fake.slash(world.alice, cluster.sites[n % 2].channel, "imagine", prompt=f"edge {n}") for n in range(100))
    )
    replies = await asyncio.gather(*(handle.wait_response(timeout=WAIT) for handle in handles))
    admitted = [reply for reply in replies if not reply.ephemeral]
    refused = [reply.content for reply in replies if reply.ephemeral]
    assert len(admitted) == 8
    # Over budget; or, on a loaded machine, not recorded within Discord's 3 s (refused, nothing charged).
    reasons = ("overall spending budget", "used all of your", "Nothing was recorded or charged")
    assert all(any(reason in text for reason in reasons) for text in refused), refused
    # Three at a time at most (alice's running limit, counted for both processes together), all eight in the end.
    await eggapi.wait_until(lambda: len(eggapi.tasks) == 8, timeout=WAIT)
    await cluster.wait_for_posts(list(eggapi.tasks))
    holds = await cluster.rows(
        "SELECT guild_id, SUM(COALESCE(settled, reserved)) AS spent FROM ledger_holds GROUP BY guild_id"
    )
    assert sum(row["spent"] for row in holds) == Decimal("0.08")
    assert all(row["spent"] <= Decimal("0.05") for row in holds)
    await cluster.assert_each_posted_once()
    assert_clean(fake)


@pytest.mark.parametrize(
    "cluster_env",
    [{"EGGBOT_LEASE_TTL": "120", "EGGBOT_LEASE_RENEW_INTERVAL": "5", "EGGBOT_MAX_RUNNING_PER_MEMBER": "10"}],
)
async def test_both_processes_restarted_finish_every_job_once(
    cluster: Cluster, world: World, eggapi: FakeEggAPI
) -> None:
    """Leases long enough that nothing here lapses: what moves them is a clean stop or a restart."""
    await cluster.start()
    eggapi.default_plan = TaskPlan(hold=True)

    # Stopped cleanly: the leases are released, and whichever process starts first takes the jobs.
    waiting = [egg_id for site in cluster.sites for egg_id in await cluster.imagine(site, 2, "stopped")]
    assert [await site.process.stop() for site in cluster.sites] == [0, 0]
    rows = await cluster.rows("SELECT lease_owner FROM tasks WHERE status = 'running'")
    assert [row["lease_owner"] for row in rows] == [None] * 4
    for egg_id in waiting:
        eggapi.finish(egg_id)
    await cluster.start()
    await cluster.wait_for_posts(waiting)

    # Killed together: each restarted process takes its own earlier leases at once, not waiting for them to lapse.
    killed = [egg_id for site in cluster.sites for egg_id in await cluster.imagine(site, 1, "killed")]
    for site in cluster.sites:
        await cluster.kill(site)
    for egg_id in killed:
        eggapi.finish(egg_id)
    await cluster.start()
    await cluster.wait_for_posts(killed)
    for site in cluster.sites:
        assert site.process.output().count("resuming 1 unfinished task(s)") == 1
    await cluster.assert_each_posted_once()
    assert_clean(world.fake)


def busiest(requests: list[RecordedRequest], window: float) -> int:
    """The most of these requests that reached EggAPI within any ``window`` seconds (sliding)."""
    times = sorted(r.at for r in requests)
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


RPS = 4  # the whole bot's EGGBOT_EGGAPI_RPS in the budget test: small, so that a second's requests are counted
JOBS = 12  # per process: each a submit, list reads and a download, more than the budget lets through at once
LOAD = 40  # requests counted from when both processes have their jobs: 10 s at RPS, 5 s at twice it
LONG = 3.0  # seconds: a request reaches EggAPI less than a second after its turn, so a window of LONG
# seconds at EggAPI holds the turns of at most LONG + 1 seconds: RPS * (LONG + 1) requests.
BUSY = {"EGGBOT_MAX_RUNNING_PER_MEMBER": "30", "EGGBOT_MAX_QUEUED_PER_MEMBER": "30"}


@pytest.mark.parametrize(
    ("cluster_env", "shared"),
    [
        ({"EGGBOT_EGGAPI_RPS": str(RPS), **BUSY}, True),
        # Each process at the whole RPS, as each had a budget of its own before: the same count must see it.
        ({"EGGBOT_EGGAPI_RPS": str(2 * RPS), **BUSY}, False),
    ],
    ids=["shared", "per-process"],
)
async def test_both_processes_loaded_stay_within_the_request_budget_together(
    cluster: Cluster, world: World, eggapi: FakeEggAPI, shared: bool
) -> None:
    """Both processes have more to ask of EggAPI than their budgets let through (submits, the task list,
    downloads): both ask all they may. EGGBOT_EGGAPI_RPS is for both together."""
    fake = world.fake
    await cluster.start()
    handles = [
        await fake.slash(world.alice, site.channel, "imagine", prompt=f"loaded {n}")
        for n in range(JOBS)
        for site in cluster.sites
    ]
    for handle in handles:
        assert not (await handle.wait_response(timeout=WAIT)).ephemeral
    start = len(eggapi.requests)
    await eggapi.wait_until(lambda: len(eggapi.requests) >= start + LOAD, timeout=WAIT)
    loaded = eggapi.requests[start : start + LOAD]
    if shared:
        share = f"registered as one of 2 bot process(es): {RPS / 2:.2f} EggAPI requests/s"
        assert share in cluster.sites[1].process.output()
        assert busiest(loaded, 1.0) <= 2 * RPS  # a second's turns, and the one before it arriving late
        assert busiest(loaded, LONG) <= RPS * (LONG + 1)
    else:
        assert busiest(loaded, LONG) > RPS * (LONG + 1)  # twice the rate: what the count above must catch
    await eggapi.wait_until(lambda: len(eggapi.tasks) == 2 * JOBS, timeout=WAIT)
    await cluster.wait_for_posts(list(eggapi.tasks))
    await cluster.assert_each_posted_once()
    assert eggapi.rate_limited == 0


@pytest.mark.parametrize("cluster_env", [{"EGGBOT_MAX_RUNNING_TOTAL": "1", "LOG_LEVEL": "DEBUG"}])
async def test_a_freed_place_goes_round_robin_across_both_processes(
    cluster: Cluster, world: World, eggapi: FakeEggAPI
) -> None:
    """One job runs at a time, for everyone. Alice queues five jobs in shard 0's server; then Yolanda and Zeno
    one each in shard 1's. Shard 0's process would take every place its own jobs free (it hears of their end
    first); the turns are everyone's: Yolanda and Zeno go before Alice's second job."""
    fake = world.fake
    here, there = cluster.sites
    yolanda, zeno = fake.add_member(there.guild, "yolanda"), fake.add_member(there.guild, "zeno")
    await cluster.start()
    eggapi.default_plan = TaskPlan(hold=True)  # each job runs upstream until the test finishes it

    async def ask(member: FakeMember, site: Site, prompt: str) -> None:
        handle = await fake.slash(member, site.channel, "imagine", prompt=prompt)
        assert not (await handle.wait_response()).ephemeral

    for n in range(5):
        await ask(world.alice, here, f"alice {n}")
    await eggapi.wait_until(lambda: len(eggapi.tasks) == 1, timeout=WAIT)
    await ask(yolanda, there, "yolanda")
    await ask(zeno, there, "zeno")

    def sent(count: int) -> Callable[[], bool]:
        return lambda: len(eggapi.tasks) >= count

    for submitted in range(1, 7):  # finish the one running job; the next one is sent upstream
        [running] = [egg_id for egg_id, task in eggapi.tasks.items() if not task.is_terminal]
        eggapi.finish(running)
        await eggapi.wait_until(sent(submitted + 1), timeout=WAIT)
    # The jobs in the order they reached the image service: round robin, and Alice's own in the order she asked.
    order = [task.request["prompt"] for task in eggapi.tasks.values()]
    assert order == ["alice 0", "yolanda", "zeno", "alice 1", "alice 2", "alice 3", "alice 4"]
    eggapi.finish(list(eggapi.tasks)[-1])
    await cluster.wait_for_posts(list(eggapi.tasks))
    await cluster.assert_each_posted_once()
    assert_clean(fake)
