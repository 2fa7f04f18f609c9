"""Storage: the seam between the bot's logic and its database.

* ``ports`` - the Protocols: ``Storage`` runs a function of a ``Transaction`` (``transaction``,
  ``read``); a transaction offers ``tasks`` (``TaskRepository``), ``ledger`` (``LedgerRepository``),
  ``reports`` (``ReportQueries``) and ``guilds`` (``GuildSettingsRepository``).
* ``sqlite`` - the default backend: ``open_sqlite(path)`` (= ``Database.open``), migrations, all SQL.
"""

from .ports import (
    TASK_FIELDS,
    GuildOverrides,
    GuildSettingsRepository,
    HoldTotals,
    JsonValue,
    LedgerRepository,
    ReportQueries,
    Storage,
    TaskRepository,
    Transaction,
)

__all__ = [
    "TASK_FIELDS",
    "GuildOverrides",
    "GuildSettingsRepository",
    "HoldTotals",
    "JsonValue",
    "LedgerRepository",
    "ReportQueries",
    "Storage",
    "TaskRepository",
    "Transaction",
]
