"""Fitting images into upload limits, with real PNG bytes decoded and re-encoded by Pillow."""

from __future__ import annotations

import io
import logging
import os
import threading

import pytest
from PIL import Image

from bot.eggapi import DownloadedImage
from bot.lifecycle import fitting
from bot.lifecycle.fitting import fit_images, shrink
from testkit.fake_eggapi import png_bytes


def noisy_png(side: int, seed: int = 0) -> DownloadedImage:
    """A PNG that compresses badly (random pixels), so its size is predictable and large."""
    raw = os.urandom(side * side * 3) if seed == 0 else bytes((i * seed) % 251 for i in range(side * side * 3))
    image = Image.frombytes("RGB", (side, side), raw)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return DownloadedImage(data=out.getvalue(), content_type="image/png", filename=f"img{side}.png")


def test_small_images_share_one_message() -> None:
    images = [noisy_png(16) for _ in range(4)]
    fitted = fit_images(images, limit=10 * 1024 * 1024, max_files=10)
    assert fitted.batches == [images] and fitted.too_large == []


def test_images_split_across_messages_when_their_sum_is_too_big() -> None:
    images = [noisy_png(200) for _ in range(3)]  # ~120 kB each
    limit = len(images[0].data) * 2 + 10
    fitted = fit_images(images, limit=limit, max_files=10)
    assert [len(b) for b in fitted.batches] == [2, 1]
    assert all(sum(len(i.data) for i in batch) <= limit for batch in fitted.batches)


def test_an_oversize_image_is_reencoded_within_the_limit() -> None:
    big = noisy_png(400)  # ~480 kB
    limit = len(big.data) // 4
    fitted = fit_images([big], limit=limit, max_files=10)
    [[small]] = fitted.batches
    assert len(small.data) <= limit and small.content_type == "image/jpeg"
    assert small.filename == "img400.jpg"
    with Image.open(io.BytesIO(small.data)) as opened:
        assert opened.format == "JPEG"


def test_what_cannot_be_shrunk_is_left_for_a_link() -> None:
    garbage = DownloadedImage(data=b"not an image" * 1000, content_type="image/png", filename="x.png")
    fitted = fit_images([noisy_png(8), garbage], limit=1000, max_files=10)
    assert fitted.too_large == [1] and len(fitted.batches) == 1
    assert shrink(garbage, 1000) is None


def bomb(side: int) -> DownloadedImage:
    """A tiny PNG whose header claims ``side`` x ``side`` pixels (padded past the test limits)."""
    return DownloadedImage(
        data=png_bytes("bomb", 0, padding=2000, declared=side), content_type="image/png", filename="bomb.png"
    )


@pytest.mark.parametrize("side", [20000, 8000])  # 400 MP (past Pillow's own limit), 64 MP (within it)
def test_a_decompression_bomb_is_never_decoded_and_left_for_a_link(
    side: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_decoding(self: Image.Image, *args: object, **kwargs: object) -> Image.Image:
        raise AssertionError("the bomb was decoded")

    images = [noisy_png(8), bomb(side)]
    monkeypatch.setattr(Image.Image, "convert", no_decoding)
    monkeypatch.setattr(Image.Image, "load", no_decoding)
    with caplog.at_level(logging.WARNING, logger="bot.lifecycle.fitting"):
        fitted = fit_images(images, limit=1000, max_files=10)
    assert fitted.too_large == [1] and len(fitted.batches) == 1
    assert "not decoding it" in caplog.text


def test_at_most_two_images_are_reencoded_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    inside = threading.Semaphore(0)
    release = threading.Event()

    def held(image: DownloadedImage, limit: int) -> DownloadedImage | None:
        inside.release()
        assert release.wait(10)
        return None

    monkeypatch.setattr(fitting, "_reencode", held)
    workers = [threading.Thread(target=shrink, args=(noisy_png(8), 10)) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            assert inside.acquire(timeout=10)  # both are re-encoding now
        assert not fitting.REENCODE_SLOTS.acquire(blocking=False)  # so a third one would wait
    finally:
        release.set()
        for worker in workers:
            worker.join(10)
    assert fitting.REENCODE_SLOTS.acquire(blocking=False)  # free again
    fitting.REENCODE_SLOTS.release()
