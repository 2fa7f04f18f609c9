"""A PNG bar chart of spend per day, stacked by the top members (Pillow; no Discord objects).

Its words (``ChartData``'s title, labels and legend) are chosen by ``chart_data`` in the reader's language.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFont

from bot.i18n import Text, Texts
from bot.money import format_money
from bot.periods import Period
from bot.reports import DaySpend

Unit = Period  # a bar spans a day, a week or a month
WIDTH, HEIGHT = 1000, 560
LEFT, RIGHT, TOP, BOTTOM = 80, 250, 78, 56
MAX_BARS = 92
TOP_MEMBERS = 5
# Okabe-Ito: distinguishable with the common colour-vision deficiencies; grey for everyone else.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00")
OTHERS_COLOUR = "#9A9A9A"
INK, MUTED, GRID = "#1F2328", "#656D76", "#D8DEE4"
ZERO = Decimal("0")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True, slots=True)
class Series:
    """One stacked layer: a member (or everyone else) and their spend per bar."""

    name: str
    values: tuple[Decimal, ...]
    colour: str

    @property
    def total(self) -> Decimal:
        """Their spend over the whole chart."""
        return sum(self.values, ZERO)


@dataclass(frozen=True, slots=True)
class ChartData:
    """What the chart shows: one bar per day (or week or month), stacked by member."""

    title: str
    subtitle: str
    unit: Unit
    starts: tuple[date, ...]
    series: tuple[Series, ...]
    labels: tuple[str, ...] = ()  # under each bar
    legend: str = "Top members"  # above the members' colours
    empty: str = "No spending in this range"  # across an empty chart

    @property
    def totals(self) -> tuple[Decimal, ...]:
        """The height of each bar."""
        return tuple(sum((s.values[i] for s in self.series), ZERO) for i in range(len(self.starts)))


def _bucket_start(day: date, unit: Unit) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if unit == "month" else day


def top_members(days: Sequence[DaySpend]) -> list[int]:
    """The members the legend names: the biggest spenders over ``days``, at most ``TOP_MEMBERS``."""
    spent: dict[int, Decimal] = {}
    for day in days:
        for member, amount in day.by_member.items():
            spent[member] = spent.get(member, ZERO) + amount
    return sorted((m for m in spent if spent[m] > 0), key=lambda m: (-spent[m], m))[:TOP_MEMBERS]


def chart_data(
    t: Texts, days: Sequence[DaySpend], name_of: Callable[[int], str], title: str, subtitle: str
) -> ChartData:
    """Group ``days`` into at most ``MAX_BARS`` bars and split each among the top members and the others."""
    unit: Unit = "day" if len(days) <= MAX_BARS else ("week" if len(days) <= MAX_BARS * 7 else "month")
    buckets: dict[date, dict[int, Decimal]] = {}
    for day in days:
        bucket = buckets.setdefault(_bucket_start(day.day, unit), {})
        for member, amount in day.by_member.items():
            bucket[member] = bucket.get(member, ZERO) + amount
    top = top_members(days)
    starts = tuple(sorted(buckets))
    series = [Series(name_of(m), tuple(buckets[s].get(m, ZERO) for s in starts), PALETTE[i]) for i, m in enumerate(top)]
    others = tuple(sum((v for m, v in buckets[s].items() if m not in top), ZERO) for s in starts)
    if any(others):
        series.append(Series(t("usage.chart.others"), others, OTHERS_COLOUR))
    many_years = bool(starts) and starts[0].year != starts[-1].year
    return ChartData(
        title,
        t("usage.chart.subtitle", subtitle=subtitle, per=Text(f"usage.chart.per.{unit}")),
        unit,
        starts,
        tuple(series),
        labels=tuple(_bar_label(t, start, unit, many_years) for start in starts),
        legend=t("usage.chart.legend" if series else "usage.chart.nobody"),
        empty=t("usage.chart.empty"),
    )


def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _nice_step(top: float) -> float:
    """A round grid step giving about five lines up to ``top``."""
    raw = max(top, 1e-4) / 5
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def _money_label(value: float, step: float) -> str:
    decimals = 2 if step >= 0.01 else (3 if step >= 0.001 else 4)
    return f"${value:,.{decimals}f}"


def _bar_label(t: Texts, start: date, unit: Unit, many_years: bool) -> str:
    month = t(f"usage.months.{start.month}")
    if unit == "month":
        return t("usage.chart.month_label", month=month, year=start.year)
    return start.isoformat() if many_years else t("usage.chart.day_label", month=month, day=f"{start:%d}")


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def render_png(data: ChartData) -> bytes:
    """Draw the chart and return PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    title_font, font, small = _font(22), _font(14), _font(12)
    draw.text((LEFT - 50, 16), _fit(draw, data.title, title_font, WIDTH - 60), fill=INK, font=title_font)
    draw.text((LEFT - 50, 46), _fit(draw, data.subtitle, font, WIDTH - 60), fill=MUTED, font=font)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bottom_y = TOP + plot_h
    totals = [float(t) for t in data.totals]
    peak = max([*totals, 0.01])  # an empty chart still gets a readable axis
    step = _nice_step(peak)
    lines = max(1, math.ceil(peak / step - 1e-9))
    scale = plot_h / (step * lines)
    for i in range(lines + 1):
        y = bottom_y - i * step * scale
        draw.line((LEFT, y, LEFT + plot_w, y), fill=GRID if i else MUTED, width=1)
        label = _money_label(i * step, step)
        draw.text((LEFT - 8, y), label, fill=MUTED, font=small, anchor="rm")
    count = len(data.starts)
    if count == 0 or not any(totals):
        centre = (LEFT + plot_w / 2, TOP + plot_h / 2)
        draw.text(centre, data.empty, fill=MUTED, font=font, anchor="mm")
    slot = plot_w / max(count, 1)
    bar_w = max(1.0, slot * 0.78)
    for i in range(count):
        x0 = LEFT + i * slot + (slot - bar_w) / 2
        y = float(bottom_y)
        for series in data.series:
            height = float(series.values[i]) * scale
            if height > 0:
                draw.rectangle((x0, y - height, x0 + bar_w, y), fill=series.colour)
                y -= height
    many_years = count > 0 and data.starts[0].year != data.starts[-1].year
    every = max(1, math.ceil(count / (8 if many_years else 12)))
    for i in range(0, count, every):
        x = LEFT + i * slot + slot / 2
        draw.line((x, bottom_y, x, bottom_y + 4), fill=MUTED)
        label = data.labels[i] if i < len(data.labels) else data.starts[i].isoformat()
        draw.text((x, bottom_y + 8), label, fill=MUTED, font=small, anchor="ma")
    legend_x, legend_y = LEFT + plot_w + 24, TOP
    draw.text((legend_x, legend_y - 4), data.legend, fill=INK, font=font)
    for row, series in enumerate(data.series):
        y = legend_y + 24 + row * 40
        draw.rectangle((legend_x, y + 2, legend_x + 14, y + 16), fill=series.colour)
        draw.text((legend_x + 22, y), _fit(draw, series.name, font, RIGHT - 56), fill=INK, font=font)
        draw.text((legend_x + 22, y + 18), format_money(series.total), fill=MUTED, font=small)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
