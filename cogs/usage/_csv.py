"""The CSV export of a report's tasks: one row per task, exact decimal costs, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import UTC

from bot.ledger import Adjustment, AdjustmentKind
from bot.reports import TaskLine

COLUMNS = (
    "task_id",
    "member_id",
    "member_name",
    "time_utc",
    "prompt",
    "images",
    "requested",
    "cost",
    "ledger",
    "status",
)
_LEDGER = {"active": "reserved", "settled": "settled", "released": "released"}
_ADJUSTED = {AdjustmentKind.TOPUP: ("topup", "top-up"), AdjustmentKind.RESET: ("forgiven", "spend reset")}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(text: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection): prefix risky cells with a quote."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def tasks_csv(
    tasks: Sequence[TaskLine], name_of: Callable[[int], str], adjustments: Sequence[Adjustment] = ()
) -> bytes:
    """UTF-8 CSV (with BOM, for spreadsheets) of ``tasks``; ``cost`` is what the ledger counts, exact.

    ``ledger`` is ``settled`` (real cost), ``reserved`` (still held), ``released`` (cost 0) or ``none``
    (recorded before the ledger). Sum ``cost`` over ``settled`` rows for the report's settled total.
    Moderators' adjustments follow as rows with status ``adjustment``, no task id and ``ledger``
    ``topup`` (added to the member's budget that period) or ``forgiven`` (settled spend reset; the
    charges stay in the ``settled`` rows).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for task in tasks:
        writer.writerow(
            (
                task.task_id,
                task.member_id,
                _inert(name_of(task.member_id)),
                task.created_at.astimezone(UTC).isoformat(timespec="seconds"),
                _inert(" ".join(task.prompt.split())),
                task.images,
                task.requested,
                str(task.cost),
                "none" if task.hold_state is None else _LEDGER[task.hold_state.value],
                task.status.value,
            )
        )
    for adjustment in adjustments:
        ledger, what = _ADJUSTED[adjustment.kind]
        writer.writerow(
            (
                "",
                adjustment.member_id,
                _inert(name_of(adjustment.member_id)),
                adjustment.created_at.astimezone(UTC).isoformat(timespec="seconds"),
                _inert(f"{what} by moderator {name_of(adjustment.moderator_id)} ({adjustment.moderator_id})"),
                "",
                "",
                str(adjustment.amount),
                ledger,
                "adjustment",
            )
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
