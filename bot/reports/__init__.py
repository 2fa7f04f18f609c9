"""Usage reports for moderators: where a server's money goes (no Discord imports; plain values in and out).

Every figure comes from the bot's own database: a read model (``bot.storage.ReportQueries``) over
``tasks`` joined with ``ledger_holds``, always filtered by ``guild_id`` (one server's report never
reads another's rows). Money is ``Decimal``, summed exactly in Python. A task counts at the time
its hold was taken (the ledger's ``created_at``, as ``Ledger.period_totals`` counts it), so the
totals agree with the ledger to the last digit. What a task costs in a report is what the ledger
counts: the real cost once settled, the hold while active ("reserved": running, or a submit of
unknown outcome), 0 once released.

Construction and use::

    reports = UsageReports(storage, ledger)             # clock=utcnow
    report = await reports.guild_report(guild_id, "month")
    report.totals.settled, report.totals.reserved, report.totals.images, report.totals.counts.failed
    report.members        # [MemberSpend], biggest first, equal to ledger.period_totals(...) for the range
    report.budget         # ServerBudget: cap, spent and available in the *current quota period*
    report.tasks          # [TaskLine] newest first; report.days: [DaySpend] oldest first
    report.adjustments    # [Adjustment] moderators' top-ups and resets made in the range, newest first;
                          # adjusted(report.adjustments, AdjustmentKind.RESET) is what was forgiven
    mine = await reports.member_report(guild_id, member_id, role_ids, "current")
    mine.balance          # Ledger.balance(...) now; mine.holds: active holds of any range
    recon = await reports.reconcile(guild_id, await eggapi.usage_summary())

Ranges (``RANGE_KEYS``; calendar periods in the guild's quota timezone from ``Ledger.policy``):
``current`` (the guild's quota period), ``today``, ``week`` (from Monday), ``month``,
``last_month``, ``all``. ``report_window(key, period, timezone, now) -> Window`` is the pure form.

``Reconciliation``: EggAPI's usage summary rows (account-wide totals reported by EggAPI, window
unknown) beside the ledger's all-time settled total over *every* server of this bot, its active
holds, and this server's own all-time share; ``difference`` = EggAPI minus ledger settled,
``agreement`` says which side is higher.
"""

from ._models import (
    COMPLETED,
    FAILED,
    Agreement,
    DaySpend,
    GuildReport,
    MemberReport,
    Reconciliation,
    ServerBudget,
    TaskCounts,
    TaskLine,
    Totals,
    adjusted,
)
from ._service import UsageReports, daily_spend, member_spends
from ._windows import RANGE_KEYS, RANGE_LABELS, RangeKey, Window, report_window, zone

__all__ = [
    "COMPLETED",
    "FAILED",
    "RANGE_KEYS",
    "RANGE_LABELS",
    "Agreement",
    "DaySpend",
    "GuildReport",
    "MemberReport",
    "RangeKey",
    "Reconciliation",
    "ServerBudget",
    "TaskCounts",
    "TaskLine",
    "Totals",
    "UsageReports",
    "Window",
    "adjusted",
    "daily_spend",
    "member_spends",
    "report_window",
    "zone",
]
