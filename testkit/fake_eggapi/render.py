"""Real pictures for the simulated EggAPI: a PNG drawn with Pillow from a prompt, deterministically.

The playground needs images a newcomer can look at and tell apart, without any model: each one is a
gradient and a few flat shapes in a palette seeded by a hash of the prompt, with the prompt, the
image's index and its format written on it. Flat colours keep even a 4k PNG far below Discord's
10 MiB upload limit. Reference images (edits) are visibly used: the background is tinted with
their average colour and each one is pasted, posterised, in a framed strip.

Everything here is synchronous and CPU-bound: call :func:`render_png` off the event loop.
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
import textwrap
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, ImageOps, ImageStat

log = logging.getLogger(__name__)

LONG_SIDE = {"1k": 1024, "2k": 2048, "4k": 4096}
MAX_PROMPT_DRAWN = 280  # characters written on the picture; the rest becomes "…"
MAX_REFERENCE_PIXELS = 40_000_000  # a reference claiming more is drawn as a placeholder, not decoded

Colour = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Picture:
    """What a picture depends on: the same Picture always gives the same bytes."""

    prompt: str
    index: int
    count: int = 1
    aspect_ratio: str = "16:9"
    resolution: str = "1k"
    negative_prompt: str = ""
    references: tuple[bytes, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        """(width, height): the resolution's long side, the other side by the aspect ratio."""
        long = LONG_SIDE.get(self.resolution, LONG_SIDE["1k"])
        short = round(long * 9 / 16)
        return (short, long) if self.aspect_ratio == "9:16" else (long, short)

    def digest(self) -> bytes:
        """A hash of everything drawn, so distinct pictures get distinct palettes and layouts."""
        h = hashlib.sha256()
        for part in (self.prompt, self.negative_prompt, self.aspect_ratio, self.resolution):
            h.update(part.encode() + b"\x00")
        h.update(f"{self.index}/{self.count}".encode())
        for ref in self.references:
            h.update(hashlib.sha256(ref).digest())
        return h.digest()


def _palette(prompt: str) -> list[Colour]:
    """Five colours from the prompt alone, so every image of one prompt shares a palette."""
    rng = random.Random(hashlib.sha256(prompt.encode()).digest())
    base = rng.random()
    colours = []
    for step in range(5):
        hue = (base + step * 0.2 + rng.uniform(-0.05, 0.05)) % 1.0
        colours.append(_hsv(hue, rng.uniform(0.45, 0.9), rng.uniform(0.35, 0.95)))
    return colours


def _hsv(h: float, s: float, v: float) -> Colour:
    i, f = int(h * 6) % 6, (h * 6) % 1
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return round(r * 255), round(g * 255), round(b * 255)


def _mix(a: Colour, b: Colour, amount: float) -> Colour:
    return (
        round(a[0] + (b[0] - a[0]) * amount),
        round(a[1] + (b[1] - a[1]) * amount),
        round(a[2] + (b[2] - a[2]) * amount),
    )


def _background(size: tuple[int, int], top: Colour, bottom: Colour, bands: int = 24) -> Image.Image:
    """A banded vertical gradient: smooth enough to read as one, flat enough to compress."""
    width, height = size
    image = Image.new("RGB", size, top)
    draw = ImageDraw.Draw(image)
    for band in range(bands):
        y0, y1 = height * band // bands, height * (band + 1) // bands
        draw.rectangle((0, y0, width, y1), fill=_mix(top, bottom, band / (bands - 1)))
    return image


def _shapes(image: Image.Image, rng: random.Random, palette: list[Colour]) -> None:
    width, height = image.size
    unit = min(width, height)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(5, 9)):
        colour = rng.choice(palette)
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.08, 0.3) * unit
        kind = rng.choice(("circle", "rect", "triangle"))
        if kind == "circle":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        elif kind == "rect":
            draw.rectangle((x - r, y - r * 0.6, x + r, y + r * 0.6), fill=colour)
        else:
            draw.polygon([(x, y - r), (x + r, y + r * 0.8), (x - r, y + r * 0.8)], fill=colour)


def _font(size: int) -> Font:
    """Pillow's built-in scalable font (no system fonts needed); a bitmap font without FreeType."""
    return ImageFont.load_default(size=max(10, size))


def _decode(data: bytes) -> Image.Image | None:
    """A reference image as RGB, or None when it is not an image Pillow can read safely."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_REFERENCE_PIXELS:
                return None
            opened.draft("RGB", (1024, 1024))  # JPEG: decode at a reduced scale
            return opened.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        log.debug("reference image not drawn: %s", exc)
        return None


def _average(references: list[Image.Image | None]) -> Colour | None:
    """The mean colour of the decoded references (None if none decoded)."""
    means = [ImageStat.Stat(ref.resize((16, 16))).mean for ref in references if ref is not None]
    if not means:
        return None
    return (
        round(sum(m[0] for m in means) / len(means)),
        round(sum(m[1] for m in means) / len(means)),
        round(sum(m[2] for m in means) / len(means)),
    )


def _paste(image: Image.Image, references: list[Image.Image | None], palette: list[Colour]) -> None:
    """Each reference, posterised (few colours keep the PNG small), in a white frame across the top."""
    width, height = image.size
    slots = len(references)
    gap = max(4, min(width, height) // 60)
    cell = round(min((width * 0.9 - gap * (slots - 1)) / slots, height * 0.42))
    x = round((width - (cell * slots + gap * (slots - 1))) / 2)
    y = round(height * 0.08)
    draw = ImageDraw.Draw(image)
    for ref in references:
        draw.rectangle((x - gap // 2, y - gap // 2, x + cell + gap // 2, y + cell + gap // 2), fill=(255, 255, 255))
        if ref is None:  # unreadable: a crossed box where it would be
            draw.rectangle((x, y, x + cell, y + cell), fill=palette[0])
            draw.line((x, y, x + cell, y + cell), fill=(255, 255, 255), width=gap)
            draw.line((x, y + cell, x + cell, y), fill=(255, 255, 255), width=gap)
        else:
            image.paste(ImageOps.posterize(ImageOps.pad(ref, (cell, cell), color=(255, 255, 255)), 3), (x, y))
        x += cell + gap


def _caption(image: Image.Image, picture: Picture) -> None:
    """The prompt (wrapped), then "image i of n · ratio · resolution", on a dark panel at the bottom."""
    width, height = image.size
    size = max(12, min(width, height) // 18)
    font, small = _font(size), _font(max(10, size * 2 // 3))
    prompt = picture.prompt if len(picture.prompt) <= MAX_PROMPT_DRAWN else picture.prompt[:MAX_PROMPT_DRAWN] + "…"
    columns = max(8, int(width * 0.9 / (size * 0.55)))
    lines = textwrap.wrap(prompt, columns, max_lines=6, placeholder=" …") or [" "]
    text = "\n".join(lines)
    footer = f"image {picture.index + 1} of {picture.count} · {picture.aspect_ratio} · {picture.resolution}"
    if picture.references:
        footer += f" · edit of {len(picture.references)} reference(s)"
    draw = ImageDraw.Draw(image)
    box = draw.multiline_textbbox((0, 0), text, font=font, spacing=size // 4)
    text_h = box[3] - box[1]
    pad = size // 2
    panel_top = height - text_h - size - 3 * pad
    draw.rectangle((0, panel_top, width, height), fill=(16, 16, 24))
    draw.multiline_text((pad * 2, panel_top + pad - box[1]), text, font=font, fill=(250, 250, 250), spacing=size // 4)
    draw.text((pad * 2, height - pad - size), footer, font=small, fill=(190, 190, 200))


def render_png(picture: Picture) -> bytes:
    """The PNG for ``picture`` (deterministic: same Picture, same bytes)."""
    rng = random.Random(picture.digest())
    palette = _palette(picture.prompt)
    top, bottom = rng.sample(palette, 2)
    image = _background(picture.size, top, bottom)
    _shapes(image, rng, palette)
    if picture.references:
        references = [_decode(ref) for ref in picture.references]
        tint = _average(references)
        if tint is not None:  # wash the picture towards the references' colour
            image = Image.blend(image, Image.new("RGB", image.size, tint), 0.4)
        _paste(image, references, palette)
    _caption(image, picture)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()
