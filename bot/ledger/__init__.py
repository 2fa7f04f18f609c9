"""Quota ledger: per-member spending limits funded by one EggAPI key (no Discord imports).

Money is ``Decimal`` everywhere (TEXT in SQLite, summed exactly in Python); show it to people with
``bot.money.format_money`` (``$0.01``), in logs with ``bot.eggapi.format_cost`` (``$0.0100``).
Every datetime is timezone-aware; naive ones raise ValueError.
DMs use ``guild_id=None`` and count as their own "guild" (key ``DM_GUILD`` = 0) with the defaults.

Construction::

    ledger = Ledger(storage, LedgerDefaults(member_limit=Decimal("1.00"), period="day"), clock=utcnow)

``LedgerDefaults(member_limit, period: "day"|"week"|"month", timezone="UTC",
unit_price=Decimal("0.01"), account_budget: Decimal | None = None)`` - validated on creation
(ValueError for a negative amount, a unit price (the floor) of 0, unknown period or unknown IANA timezone).

Holds (one per task; table ``ledger_holds`` references ``tasks(id)``):

* ``await terms(*, guild_id, member_id, role_ids, count, model="nanobanana") -> HoldTerms`` - the
  member's policy and the unit price, read (and remembered until a setter or ``update_prices``
  writes them) before the transaction; ValueError for ``count < 1``.
* ``reserve_in(tx, terms, *, task_id, now=None) -> Hold`` - synchronous, inside the
  ``Storage.transaction`` function that inserts the task row, right after ``TaskStore.insert``.
  Holds ``count × unit_price(model)``. Raises ``QuotaExceeded`` having written nothing; let it
  propagate out of the function so the task row is rolled back too. Checks, in this order:
  guild paused, account budget, member limit, server cap, against the member's spend read in
  the transaction (and the policy read again there if it was written since ``terms``, by this
  process or another on the same database: the ``ledger`` generation is read in the transaction).
  ``bot.storage.IntegrityError`` for a second hold of a task.
* ``await reserve(*, task_id, guild_id, member_id, role_ids, count, now=None, model=...) -> Hold`` -
  ``terms`` + ``reserve_in`` for an existing task, in a transaction of its own.
* ``await charge(cost: Decimal | None, images, model=...) -> Charge`` - what a completed task costs:
  EggAPI's ``cost``, or when that is None (missing or unreadable) the estimate ``unit_price × images``
  with ``Charge.estimated`` set.
* ``await settle(task_id, cost | Charge) -> bool`` / ``settle_in(tx, task_id, cost | Charge) -> bool`` -
  a completed task's real cost (smaller or larger than held; larger is recorded as is and may push
  the member over the limit). ``cost`` must be >= 0. An estimated charge is flagged on the hold
  (``Hold.estimated``).
* ``await release(task_id) -> bool`` / ``release_in(tx, task_id) -> bool`` - the task produced
  nothing (failed upstream, submit rejected, cancelled before submit): its hold costs 0.
* Both return True only when they moved an **active** hold; a second call, a closed hold or a
  task without a hold returns False and changes nothing (idempotent). A submit of unknown outcome
  keeps its hold active: never release it on a guess.
* ``await hold(task_id) -> Hold | None``.

Limits, per guild and calendar period (local midnight / Monday / the 1st in the guild's timezone):

* ``available = limit - settled - active holds`` of the member's holds created in the current period
  (a hold counts in the period of its creation, even when settled after the reset).
* Member limit: the member's own override; else none if any of ``role_ids`` is exempt; else the
  highest limit among the member's roles that have one (may be below the default); else the
  guild default. The server cap (settled + active holds of the whole guild this period) and the
  pause apply to everyone, exempt members included.
* Account budget (``LedgerDefaults.account_budget``): last usage-summary total + every active hold
  (any guild, any period) + the new hold must stay within it.

Reading:

* ``await balance(guild_id, member_id, role_ids, now=None) -> Balance`` - ``limit`` (None = exempt),
  ``settled``, ``reserved``, ``available`` (never below 0; None = exempt), ``overdrawn`` (how far
  settled costs above their holds went past the limit; new holds are refused until it is covered),
  ``period_start``, ``resets_at``, ``exempt``, ``paused``, ``period``, ``server_cap``, ``server_available``,
  ``topup`` and ``forgiven`` (this period's adjustments), ``spent`` (``settled - forgiven``).
* ``await period_totals(guild_id, start, end) -> list[MemberSpend]`` - per member, holds *created* in
  ``[start, end)``: ``settled``, ``reserved`` (still active), ``tasks`` (settled + active holds);
  biggest spender first. Pass ``balance.period_start, balance.resets_at`` for "this period".
* ``await policy(guild_id) -> GuildPolicy`` - effective ``member_limit``, ``period``, ``timezone``,
  ``server_cap``, ``paused``, ``role_limits``, ``exempt_roles``, ``member_limits``.
* ``await account_budget_reached() -> bool`` - budget set and used up (usage total + active holds);
  poll it after ``update_prices`` and log on the change. ``reserve`` also logs one warning per streak.

Adjustments (moderators; one row each in ``ledger_adjustments``, counted in the period of their
creation like holds, so they end with it; each its own transaction):

* ``await top_up(guild_id, member_id, amount, *, moderator_id, role_ids=(), now=None) -> AdjustmentResult`` -
  adds ``amount`` (> 0, else ValueError) to what the member may spend this period, not to their limit.
* ``await reset_spend(guild_id, member_id, *, moderator_id, role_ids=(), now=None) -> AdjustmentResult`` -
  forgives the member's settled spend so far this period (read in the transaction; active holds still
  count, so a racing reservation cannot overdraw). EggAPI's charges stay in the holds and reports.
* ``AdjustmentResult``: ``adjustment`` (``Adjustment``: ``id``, ``kind`` TOPUP/RESET, ``amount``,
  ``moderator_id``, ``period_start``, ``created_at``), ``before`` and ``after`` (``Balance``, read in
  the same transaction, for the mod-log).
* ``await adjustments(guild_id, *, member_id=None, start=None, end=None) -> list[Adjustment]`` - made
  in [start, end), newest first (the usage reports).
* The member limit check is ``limit + topup - (settled - forgiven) - reserved``; the server cap and
  the account budget count what was really spent (adjustments do not lift them).

Prices (``GET /v1/usage/summary``; call periodically):

* ``await update_prices(rows: Sequence[UsageRow], now=None)`` - summary price per model =
  ``total_cost / total_units`` rounded up to 0.000001 (rows with 0 units or a cost <= 0 keep the
  old price); stores the sum of ``total_cost`` as the account usage total.
* ``await unit_price(model="nanobanana") -> Decimal`` - the per-image price holds use: the highest
  of ``defaults.unit_price`` (the floor, > 0), the summary price and the per-image prices of the
  ``RECENT_TASK_PRICES`` newest settled tasks (a ``Charge`` with ``images`` and a cost > 0 that is
  not estimated; learned inside ``settle_in``, so the next hold already uses it).

Settings (admins; each its own transaction; ``amount`` is a Decimal >= 0, None clears):

* ``set_member_limit(guild_id, member_id, amount | None)``, ``set_role_limit(guild_id, role_id, amount | None)``,
  ``set_role_exempt(guild_id, role_id, exempt: bool)``, ``set_server_cap(guild_id, amount | None)``,
  ``set_guild_defaults(guild_id, limit=None, period=None, timezone=None)`` (None = unchanged),
  ``reset_guild_defaults(guild_id)`` (limit, period, timezone back to the bot defaults),
  ``set_paused(guild_id, paused: bool)``. Changing period or timezone takes effect at once: the new
  current period counts the holds whose stored period start falls inside it.

``QuotaExceeded(UserFacingError)``: ``reason: QuotaReason`` (PAUSED, ACCOUNT_BUDGET, MEMBER_LIMIT,
SERVER_CAP), ``available`` (>= 0, what is left under that rule), ``overdrawn`` (>= 0, how far past
it settled costs went; the message then says so), ``needed``, ``resets_at``
(None for PAUSED and ACCOUNT_BUDGET), ``period``, ``limit`` (the member limit or server cap reached,
when known); it names a catalogue text (``errors.quota.*``) with the reason, the amount left as
``$0.01`` and, for limits, the reset as a ``bot.i18n.Moment``: ``user_message`` is English with the reset
in plain UTC, the error ladder renders it in the reader's language with a relative timestamp.

Pure helper: ``period_bounds(period, timezone, now) -> (start, resets_at)`` (aware, UTC).
"""

from bot.periods import PERIOD_ADJECTIVES, PERIODS, Period

from ._ledger import PRICE_QUANTUM, RECENT_TASK_PRICES, HoldTerms, Ledger
from ._models import (
    DM_GUILD,
    Adjustment,
    AdjustmentKind,
    AdjustmentResult,
    Balance,
    Charge,
    GuildPolicy,
    Hold,
    HoldState,
    LedgerDefaults,
    MemberSpend,
    QuotaExceeded,
    QuotaReason,
)
from ._periods import period_bounds

__all__ = [
    "DM_GUILD",
    "PERIODS",
    "PERIOD_ADJECTIVES",
    "PRICE_QUANTUM",
    "RECENT_TASK_PRICES",
    "Adjustment",
    "AdjustmentKind",
    "AdjustmentResult",
    "Balance",
    "Charge",
    "GuildPolicy",
    "Hold",
    "HoldState",
    "HoldTerms",
    "Ledger",
    "LedgerDefaults",
    "MemberSpend",
    "Period",
    "QuotaExceeded",
    "QuotaReason",
    "period_bounds",
]
