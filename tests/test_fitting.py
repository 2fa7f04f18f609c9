"""Fitting images into upload limits, with real PNG bytes decoded and re-encoded by Pillow."""

from __future__ import annotations

import io
import os

from PIL import Image

from bot.eggapi import DownloadedImage
from bot.fitting import fit_images, shrink


def noisy_png(side: int, seed: int = 0) -> DownloadedImage:
    """A PNG that compresses badly (random pixels), so its size is predictable and large."""
    raw = os.urandom(side * side * 3) if seed == 0 else bytes((i * seed) % 251 for i in range(side * side * 3))
    image = Image.frombytes("RGB", (side, side), raw)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return DownloadedImage(data=out.getvalue(), content_type="image/png", filename=f"img{side}.png")


def test_small_images_share_one_message() -> None:
    images = [noisy_png(16) for _ in range(4)]
    fitted = fit_images(images, limit=10 * 1024 * 1024)
    assert fitted.batches == [images] and fitted.too_large == []


def test_images_split_across_messages_when_their_sum_is_too_big() -> None:
    images = [noisy_png(200) for _ in range(3)]  # ~120 kB each
    limit = len(images[0].data) * 2 + 10
    fitted = fit_images(images, limit=limit)
    assert [len(b) for b in fitted.batches] == [2, 1]
    assert all(sum(len(i.data) for i in batch) <= limit for batch in fitted.batches)


def test_an_oversize_image_is_reencoded_within_the_limit() -> None:
    big = noisy_png(400)  # ~480 kB
    limit = len(big.data) // 4
    fitted = fit_images([big], limit=limit)
    [[small]] = fitted.batches
    assert len(small.data) <= limit and small.content_type == "image/jpeg"
    assert small.filename == "img400.jpg"
    with Image.open(io.BytesIO(small.data)) as opened:
        assert opened.format == "JPEG"


def test_what_cannot_be_shrunk_is_left_for_a_link() -> None:
    garbage = DownloadedImage(data=b"not an image" * 1000, content_type="image/png", filename="x.png")
    fitted = fit_images([noisy_png(8), garbage], limit=1000)
    assert fitted.too_large == [1] and len(fitted.batches) == 1
    assert shrink(garbage, 1000) is None
