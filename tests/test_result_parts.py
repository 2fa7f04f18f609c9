"""Planning a result's messages: stable parts and nonces, and only what is missing on a retry."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.eggapi import DownloadedImage
from bot.lifecycle.model import TaskRecord, TaskStatus
from bot.lifecycle.result_parts import plan_parts, unposted
from testkit.fake_eggapi import png_bytes

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def task(count: int) -> TaskRecord:
    return TaskRecord(
        id=7,
        guild_id=1,
        channel_id=10,
        member_id=2,
        prompt="a fox",
        negative_prompt=None,
        aspect_ratio=None,
        count=count,
        resolution=None,
        reference_urls=(),
        status=TaskStatus.DELIVERING,
        egg_task_id="e",
        upstream_status=None,
        cost=None,
        error=None,
        output_urls=tuple(f"https://f/{n}.png" for n in range(count)),
        status_message_id=None,
        result_message_ids=(),
        created_at=NOW,
        updated_at=NOW,
        submitted_at=None,
        finished_at=None,
        delivered_at=None,
    )


def images(count: int, padding: int = 300) -> list[DownloadedImage]:
    return [DownloadedImage(png_bytes("e", n, padding=padding), "image/png", f"{n}.png") for n in range(count)]


def test_the_same_images_and_limit_give_the_same_parts() -> None:
    first, again = plan_parts(task(4), images(4), 600, 10), plan_parts(task(4), images(4), 600, 10)
    assert [(p.indexes, p.key, p.number, p.total) for p in first] == [
        ((0,), "egg7", 1, 4),
        ((1,), "egg7-1", 2, 4),
        ((2,), "egg7-2", 3, 4),
        ((3,), "egg7-3", 4, 4),
    ]
    assert [(p.indexes, p.key) for p in again] == [(p.indexes, p.key) for p in first]


def test_only_the_missing_parts_remain() -> None:
    parts = plan_parts(task(4), images(4), 600, 10)
    left = [todo for part in parts if (todo := unposted(task(4), part, {0, 1})) is not None]
    assert [p.indexes for p in left] == [(2,), (3,)]


def test_a_part_posted_in_half_under_another_limit_carries_only_the_rest() -> None:
    [part] = plan_parts(task(3), images(3), 10_000, 10)
    todo = unposted(task(3), part, {0})
    assert todo is not None and todo.indexes == (1, 2) and len(todo.images) == 2 and todo.key != part.key
    assert unposted(task(3), part, {0, 1, 2}) is None


def test_images_too_large_are_linked_in_the_last_part_and_count_as_posted_with_it() -> None:
    [part] = plan_parts(task(1), [DownloadedImage(b"not an image" * 100, "image/png", "0.png")], 100, 10)
    assert part.indexes == () and part.links == (0,)
    assert unposted(task(1), part, set()) is part
    assert unposted(task(1), part, {0}) is None
