"""Storage: the seam between the bot's logic and its database.

* ``ports`` - the Protocols: ``Storage`` runs a function of a ``Transaction`` (``transaction``,
  ``read``); a transaction offers ``tasks`` (``TaskRepository``), ``ledger`` (``LedgerRepository``),
  ``reports`` (``ReportQueries``), ``guilds`` (``GuildSettingsRepository``), ``generations``
  (``GenerationRepository``) and ``processes`` (``ProcessRepository``). The two longest are in
  modules of their own, re-exported by ``ports``: ``task_repository`` and ``ledger_repository``.
* ``sharing`` - what processes sharing one database ask of the tasks: leases, kept webhooks, whose turn is next.
* ``sqlite`` - the default backend: ``open_sqlite(path)`` (= ``Database.open``), migrations, all SQL.
* ``postgres`` - the second backend (asyncpg, the ``eggbot[postgres]`` extra), chosen by ``DATABASE_URL``:
  the same repositories and migrations in PostgreSQL's dialect. Imported only when asked for.
"""

from .ports import (
    TASK_FIELDS,
    DatabaseAway,
    GenerationRepository,
    GuildOverrides,
    GuildSettingsRepository,
    HoldTotals,
    IntegrityError,
    JsonValue,
    LedgerRepository,
    ProcessRepository,
    ReportQueries,
    Storage,
    StorageUnavailable,
    TaskRepository,
    Transaction,
)
from .sharing import WaitingMember

__all__ = [
    "TASK_FIELDS",
    "DatabaseAway",
    "GenerationRepository",
    "GuildOverrides",
    "GuildSettingsRepository",
    "HoldTotals",
    "IntegrityError",
    "JsonValue",
    "LedgerRepository",
    "ProcessRepository",
    "ReportQueries",
    "Storage",
    "StorageUnavailable",
    "TaskRepository",
    "Transaction",
    "WaitingMember",
]
