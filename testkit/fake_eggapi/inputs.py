"""How the fake EggAPI downloads a task's ``image_urls``: when the task starts, as a worker would.

EggAPI's docs do not say when it fetches reference images, only that the URLs must stay valid
until the task finishes. Accept-then-fetch is what asynchronous generation APIs commonly do (the
submit only checks that each entry is a URL; the worker downloads), and it is the harsher case for
a client: a URL that was valid at submit can still fail the task. So the fake answers 202, fetches
each URL when the task leaves ``pending`` and fails the task if any download does not succeed.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

FETCH_TIMEOUT = aiohttp.ClientTimeout(total=5)


@dataclass(frozen=True)
class InputFetch:
    """One download of an ``image_urls`` entry; ``status`` None means no HTTP answer."""

    task_id: str
    url: str
    status: int | None


async def fetch_inputs(
    session: aiohttp.ClientSession, task_id: str, urls: list[str]
) -> tuple[list[InputFetch], list[bytes], str | None]:
    """Download every URL in order: the fetches made, the bodies of the successful ones and the
    task's error text (None if all succeeded)."""
    fetches: list[InputFetch] = []
    bodies: list[bytes] = []
    for index, url in enumerate(urls):
        try:
            async with session.get(url, timeout=FETCH_TIMEOUT) as response:
                body = await response.read()
                status: int | None = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = None
        fetches.append(InputFetch(task_id, url, status))
        if status != 200:
            reason = f"HTTP {status}" if status is not None else "unreachable"
            return fetches, bodies, f"Failed to download image_urls[{index}]: {reason}"
        bodies.append(body)
    return fetches, bodies, None
