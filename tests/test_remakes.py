"""Jobs made from a result (Reroll, Vary, Edit, Again, Remix): the requests they make, and finding a
picked image again with a link that works now, against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.errors import InvalidRequest
from bot.lifecycle.model import ImagineRequest, OriginKind, TaskRecord
from bot.lifecycle.references import ReferenceCheck
from bot.lifecycle.remakes import Asker, Remakes, remake, upscales
from bot.lifecycle.task_store import TaskStore
from testkit.backends import AnyDatabase, Backend

ALICE, BOB = 11, 22
HERE = Asker(member_id=BOB, guild_id=1, channel_id=2, interaction_id=77, upload_limit=1000, locale="de")


@pytest.fixture
async def db(backend: Backend) -> AsyncIterator[AnyDatabase]:
    async with await backend.open() as database:
        yield database


class Links:
    """The chat side's part: a fresh link per (task, index) it still has posted, and what it was asked."""

    def __init__(self, posted: dict[tuple[int, int], str] | None = None, *, delay: float = 0.0) -> None:
        self.posted = posted or {}
        self.asked: list[tuple[int, int]] = []
        self.delay = delay

    async def image_url(self, task: TaskRecord, index: int) -> str | None:
        self.asked.append((task.id, index))
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.posted.get((task.id, index))


async def finished(store: TaskStore, request: ImagineRequest, images: int) -> TaskRecord:
    """A job as it stands once its images were posted (one message)."""
    task = await store.create(request)
    outputs = tuple(f"https://files.example/{task.id}/{n}.png" for n in range(images))
    await store.update(task.id, output_urls=outputs, result_message_ids=(5000 + task.id,))
    found = await store.get(task.id)
    assert found is not None
    return found


def asked(prompt: str = "a red fox", **options: object) -> ImagineRequest:
    base = ImagineRequest(guild_id=1, channel_id=2, member_id=ALICE, prompt=prompt, count=4, locale="en-US")
    return replace(base, **options)  # type: ignore[arg-type]


async def test_again_offers_only_resolutions_above_the_jobs_own(db: AnyDatabase) -> None:
    store = TaskStore(db)
    sizes = {}
    for resolution in (None, "1k", "2k", "4k"):
        task = await finished(store, asked(resolution=resolution), 1)
        sizes[resolution] = upscales(task)
    assert sizes == {None: ("2k", "4k"), "1k": ("2k", "4k"), "2k": ("4k",), "4k": ()}


async def test_each_remake_is_the_clickers_request_and_names_its_origin(db: AnyDatabase) -> None:
    store = TaskStore(db)
    origin = await finished(store, asked(negative_prompt="blurry", aspect_ratio="9:16", resolution="1k"), 4)
    url = "https://cdn.example/eggbot-1-2.png?ex=1"
    vary = remake(origin, OriginKind.VARY, HERE, image=2, image_url=url)
    assert (vary.member_id, vary.channel_id, vary.interaction_id, vary.locale) == (BOB, 2, 77, "de")
    assert (vary.prompt, vary.negative_prompt, vary.aspect_ratio, vary.count, vary.resolution) == (
        "a red fox",
        "blurry",
        "9:16",
        4,
        "1k",
    )
    assert (vary.reference_urls, vary.origin_task_id, vary.origin_kind, vary.origin_image) == (
        (url,),
        origin.id,
        "vary",
        2,
    )

    edit = remake(origin, OriginKind.EDIT, HERE, image=3, image_url=url, prompt="now in blue")
    assert (edit.prompt, edit.negative_prompt, edit.count, edit.origin_kind, edit.origin_image) == (
        "now in blue",
        "blurry",
        4,
        "edit",
        3,
    )
    again = remake(origin, OriginKind.UPSCALE, HERE, image=2, image_url=url, resolution="4k")
    assert (again.count, again.resolution, again.reference_urls, again.origin_kind) == (1, "4k", (url,), "upscale")

    remix = remake(origin, OriginKind.REMIX, HERE, prompt="a grey wolf", negative_prompt=None)
    assert (remix.prompt, remix.negative_prompt, remix.count, remix.resolution, remix.reference_urls) == (
        "a grey wolf",
        None,
        4,
        "1k",
        (),
    )
    assert (remix.origin_kind, remix.origin_image) == ("remix", None)
    reroll = remake(origin, OriginKind.REROLL, HERE)
    assert (reroll.prompt, reroll.count, reroll.origin_task_id, reroll.origin_kind) == (
        "a red fox",
        4,
        origin.id,
        "reroll",
    )


async def test_a_remake_refuses_an_image_or_size_the_job_does_not_have(db: AnyDatabase) -> None:
    store = TaskStore(db)
    origin = await finished(store, asked(resolution="2k"), 2)
    with pytest.raises(InvalidRequest) as no_image:
        remake(origin, OriginKind.VARY, HERE, image=3, image_url="https://x")
    assert no_image.value.key == "results.no_image" and no_image.value.text("de") == "Auftrag #1 hat kein Bild 3."
    with pytest.raises(InvalidRequest) as too_small:
        remake(origin, OriginKind.UPSCALE, HERE, image=1, image_url="https://x", resolution="2k")
    assert too_small.value.key == "results.no_upscale"


async def test_a_picked_image_is_found_again_or_refused_before_anything_is_recorded(db: AnyDatabase) -> None:
    store = TaskStore(db)
    origin = await finished(store, asked(), 4)
    links = Links({(origin.id, 1): "https://cdn.example/fresh-2.png?ex=ff"})
    remakes = Remakes(store, links, ReferenceCheck())
    assert await remakes.image_url(origin, 2) == "https://cdn.example/fresh-2.png?ex=ff"
    assert links.asked == [(origin.id, 1)]  # 1-based for members, 0-based for the chat side
    with pytest.raises(InvalidRequest) as gone:
        await remakes.image_url(origin, 3)  # no longer posted (its message was deleted)
    assert gone.value.key == "results.gone" and "Nothing was charged" in gone.value.user_message
    with pytest.raises(InvalidRequest) as missing:
        await remakes.image_url(origin, 5)
    assert missing.value.key == "results.no_image" and len(links.asked) == 2  # not asked for an image it lacks
    with pytest.raises(InvalidRequest) as unknown:
        await remakes.origin(999)
    assert unknown.value.key == "results.unknown_job"


async def test_a_slow_chat_side_is_a_polite_try_again_within_the_click(db: AnyDatabase) -> None:
    store = TaskStore(db)
    origin = await finished(store, asked(), 1)
    remakes = Remakes(store, Links({(origin.id, 0): "https://late"}, delay=5.0), ReferenceCheck(), refresh_within=0.01)
    with pytest.raises(InvalidRequest) as slow:
        await remakes.image_url(origin, 1)
    assert slow.value.key == "results.unreachable"


class Messages(Links):
    """The chat side as it is: an image is found only in the result messages the task names."""

    def __init__(self, posted: dict[int, dict[int, str]]) -> None:  # message id -> output index -> link
        super().__init__()
        self.messages = posted

    async def image_url(self, task: TaskRecord, index: int) -> str | None:
        self.asked.append((task.id, index))
        return next(
            (self.messages[m][index] for m in task.result_message_ids if index in self.messages.get(m, {})), None
        )


async def test_an_image_is_found_while_the_rest_of_its_result_is_still_being_posted(db: AnyDatabase) -> None:
    """A button on the first part of a result in parts, pressed before the whole result is recorded delivered."""
    store = TaskStore(db)
    task = await store.create(asked(count=2))
    await store.update(task.id, output_urls=("https://files.example/1/0.png", "https://files.example/1/1.png"))
    await db.transaction(lambda tx: tx.execute("UPDATE tasks SET status = 'delivering' WHERE id = ?", (task.id,)))
    delivering = await store.get(task.id)
    assert delivering is not None and delivering.result_message_ids == ()
    remakes = Remakes(store, Messages({7001: {0: "https://cdn.example/part-1.png?ex=ff"}}), ReferenceCheck())
    with pytest.raises(InvalidRequest) as not_yet:
        await remakes.image_url(delivering, 1)  # nothing recorded posted yet: try again, not "gone"
    assert not_yet.value.key == "results.unreachable"
    await store.record_posted(task.id, 7001, [0])  # part 1 is out; part 2 is still on its way
    assert await remakes.image_url(delivering, 1) == "https://cdn.example/part-1.png?ex=ff"
    with pytest.raises(InvalidRequest) as later:
        await remakes.image_url(delivering, 2)
    assert later.value.key == "results.unreachable"


async def test_rerolls_and_remixes_of_a_variation_get_the_picked_image_afresh(db: AnyDatabase) -> None:
    store = TaskStore(db)
    origin = await finished(store, asked(), 4)
    links = Links({(origin.id, 1): "https://cdn.example/fresh-2.png?ex=ff"})
    remakes = Remakes(store, links, ReferenceCheck())
    stale = "https://cdn.example/old-2.png?ex=01"
    vary = await finished(store, remake(origin, OriginKind.VARY, HERE, image=2, image_url=stale), 4)
    reroll = await finished(store, remake(vary, OriginKind.REROLL, HERE, references=vary.reference_urls), 4)
    remix = await finished(
        store, remake(reroll, OriginKind.REMIX, HERE, references=reroll.reference_urls, prompt="p"), 4
    )
    for task in (vary, reroll, remix):
        assert await remakes.image_source(task) == (origin, 2)
        assert await remakes.references(task) == ("https://cdn.example/fresh-2.png?ex=ff",)
    # A job with the member's own uploads (or none) keeps them: the caller checks they still work.
    uploaded = await finished(store, asked(reference_urls=("https://cdn.example/mine.png?ex=02",)), 1)
    plain = await finished(store, asked(), 1)
    assert await remakes.image_source(uploaded) is None
    assert await remakes.references(uploaded) == ("https://cdn.example/mine.png?ex=02",)
    again = await finished(store, remake(plain, OriginKind.REROLL, HERE), 1)
    assert await remakes.references(again) == ()


async def test_before_the_submit_an_expired_link_to_a_posted_image_is_read_afresh(db: AnyDatabase) -> None:
    store = TaskStore(db)
    origin = await finished(store, asked(), 4)
    links = Links({(origin.id, 1): "https://cdn.example/fresh-2.png?ex=ffffffff"})
    remakes = Remakes(store, links, ReferenceCheck())
    stale = await store.create(remake(origin, OriginKind.VARY, HERE, image=2, image_url="https://cdn.example/2?ex=01"))
    sent = await remakes.before_submit(stale)
    assert sent.reference_urls == ("https://cdn.example/fresh-2.png?ex=ffffffff",)
    recorded = await store.get(stale.id)
    assert recorded is not None and recorded.reference_urls == sent.reference_urls  # recorded, not only sent

    good = await store.create(
        remake(origin, OriginKind.VARY, HERE, image=2, image_url="https://cdn.example/2?ex=ffffffff")
    )
    assert await remakes.before_submit(good) is good and len(links.asked) == 1  # still good: not fetched
    # The member's own uploads cannot be read again; a deleted result or a failing chat side leaves
    # the task as it is, and the tracker refuses to send the dead link.
    uploaded = await store.create(asked(reference_urls=("https://cdn.example/mine.png?ex=01",)))
    assert await remakes.before_submit(uploaded) is uploaded
    gone = await store.create(remake(origin, OriginKind.VARY, HERE, image=3, image_url="https://cdn.example/3?ex=01"))
    assert await remakes.before_submit(gone) is gone

    class Broken(Links):
        async def image_url(self, task: TaskRecord, index: int) -> str | None:
            raise RuntimeError("Discord is down")

    assert await Remakes(store, Broken(), ReferenceCheck()).before_submit(stale) is stale
