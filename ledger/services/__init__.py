"""Every write to the ledger. Each service is one transaction and either does all of its work or none.

The rules they apply live in ledger/rules.py and the cleaning of their input in ledger/inputs.py; a
service locks, loads, applies the rules and writes. Closing a trade is guarded by `status = OPEN`, so a
trade closes exactly once whoever races to close it. Lock order, to keep PostgreSQL free of deadlocks:
trade rows (by id), then working entry orders (by id), then their signals, then the writers' lock
(events.writers_lock), then the book rows (by id) (docs/design.md, "Concurrency").

One module per subject; every service is importable from here (`services.trade_close`):
- base: what every write shares: the locked rows (`trade_for_update`, `book_for_update`), `book_add` (a book's
  running total of realized PnL and open cost, and the version every write bumps), `save_closes` (the guarded
  write of closes), history rows for set-based writes (`record_history`, `record_closes`).
- signals: `signal_record` (idempotent on signal_id), `signal_intake` (record and execute in one transaction;
  returns an `Intake`), `signal_execute`, `signal_expire`, `signals_lapse` (waiting signals that can no
  longer be taken expire by themselves, as prices arrive).
- trades: `trade_close`, `trade_correct` (the admin's corrections), `trades_recompute` (returns `TradesRecomputed`).
- prices: `prices_apply`: ticks mark open trades, close them at stop or target and write 1-minute candles (returns
  `TicksApplied`); `candles_backfill` (returns `CandlesBackfilled`), an exchange's history for missed minutes.
- orders: entry orders (docs/fills.md, "Entry orders"): `order_place` (from signal_intake), `orders_fill` and
  `orders_expire` (from prices_apply; expiry from day_close too), `order_cancel`.
- executions: `execution_correct`, an operator's fix of an execution, its trade's columns recomputed from its
  executions (`trade_from_executions`) and the account with them.
- feed: `feed_report`, what a running price feed says of itself (for /healthz); `feed_stall_record`, a stalled
  feed recorded as a `feed.stalled` event once per stall (for the notifier).
- eod: `day_close`, the end of a trading day (returns `DayClosed`).
- journal: `trade_annotate` (notes and tags), `trade_move_levels` (stop and target), `day_note_write` (a day's diary).
- aggregates: the per-book, per-day figures of the closed trades (models.BookDay), recounted by `book_add` for the
  days a close or correction changed (`book_days_recount`), or all of a book's (`book_days_rebuild`).
- imports: the legacy import's writes: `signal_import`, `signal_advance`, `trade_import`.
- health: `health_probe_write`, the health check's committed write.
- notify: where the notifier stands on each channel: `notify_channel_open`, `notify_claim` (recorded before a send),
  `notify_sent`, `notify_failed`, `notify_skip`.
- markets: `market_lots_record`, each market's lot rules (step, minimum amount and cost) as its exchange lists them.
- events: the outbox: `event_record` and `events_record` (a set in a few INSERTs), called by the services above
  in their own transactions; `events_prune` (older than PAPER_EVENTS_KEEP_DAYS).
- replays: `replay_queue` (its parameters checked by `replay_parameters`), `replay_claim` (the worker's guarded
  claim), `replay_run` (the engine of ledger/replay.py on the recorded candles), `replay_cancel`; they write only
  the `replays` table.
- books: `book_create` (a book with its balance and rules), `book_update` (its name and rules),
  `book_passphrase_set` (its TradingView webhook passphrase), `book_grant` and `book_revoke` (who may see and trade
  in it).
- tokens: API tokens: `api_token_create`, `api_token_revoke`, `api_token_authenticate`, `api_token_hash`.
"""

from .aggregates import book_days_rebuild, book_days_recount
from .base import book_add, book_named, default_book, save_closes
from .books import book_create, book_grant, book_passphrase_set, book_revoke, book_update, passphrase_hash
from .eod import DayClosed, day_close
from .events import event_record, events_prune, events_record
from .executions import EXECUTION_CORRECTABLE, execution_correct
from .feed import feed_report, feed_stall_record
from .health import health_probe_write
from .imports import signal_advance, signal_import, trade_import
from .journal import day_note_write, trade_annotate, trade_move_levels
from .markets import market_lots_record
from .notify import notify_channel_open, notify_claim, notify_failed, notify_sent, notify_skip
from .orders import order_cancel, order_place, orders_expire, orders_fill
from .prices import CandlesBackfilled, TicksApplied, candles_backfill, prices_apply
from .replays import replay_cancel, replay_claim, replay_parameters, replay_queue, replay_run
from .signals import Intake, signal_execute, signal_expire, signal_intake, signal_record, signals_lapse
from .tokens import api_token_authenticate, api_token_create, api_token_hash, api_token_revoke
from .trades import TradesRecomputed, trade_close, trade_correct, trades_recompute

__all__ = [
    "EXECUTION_CORRECTABLE",
    "replay_cancel",
    "replay_claim",
    "replay_parameters",
    "replay_queue",
    "replay_run",
    "CandlesBackfilled",
    "DayClosed",
    "Intake",
    "TicksApplied",
    "TradesRecomputed",
    "book_add",
    "book_days_rebuild",
    "book_days_recount",
    "book_create",
    "book_grant",
    "book_passphrase_set",
    "book_revoke",
    "book_update",
    "passphrase_hash",
    "book_named",
    "default_book",
    "api_token_authenticate",
    "api_token_create",
    "api_token_hash",
    "api_token_revoke",
    "candles_backfill",
    "day_close",
    "day_note_write",
    "event_record",
    "events_prune",
    "events_record",
    "execution_correct",
    "feed_report",
    "feed_stall_record",
    "health_probe_write",
    "market_lots_record",
    "notify_channel_open",
    "notify_claim",
    "notify_failed",
    "notify_sent",
    "notify_skip",
    "order_cancel",
    "order_place",
    "orders_expire",
    "orders_fill",
    "prices_apply",
    "save_closes",
    "signal_advance",
    "signal_execute",
    "signal_expire",
    "signal_import",
    "signal_intake",
    "signal_record",
    "signals_lapse",
    "trade_annotate",
    "trade_close",
    "trade_correct",
    "trade_import",
    "trade_move_levels",
    "trades_recompute",
]
