"""Every read that the pages, the API and the commands share (`selectors.trades_active`, ...).

Selectors never write and never import the services. Every name below is importable from here:
- books: who sees what: `book` (by slug, for the commands), `books_visible`, `book_visible` (by slug), `books_tradable`;
  `books_balances` (balance, equity, cash), `webhook_passphrases` and `book_of_passphrase` (the webhook's book);
  /books/'s comparison: `books_compared` (`BookFigures`), `books_setups` (`BookSetups`).
- core: a book's rows and the day's figures: `book_totals`, `ledger_version`, `trade`, `signal`,
  `market_quote` (a symbol's last tick), `market_lot` (its lot rules), `entry_plan` (`EntryPlan`: what executing a
  signal now would do), `candles`, `trades_active`, `trades_active_with_last_tick`, `symbols`, `symbols_followed`,
  `open_since`, `newest_tick_at`, `prices_last`, `candles_newest`, `feed_status` (what the price feed says of
  itself), `signals_for_day`, `signals_board`, `signals_summary` (`SignalsSummary`), `journal_for_day`,
  `pnl_daily`, `pnl_daily_range` (`DailyPnl`), `dashboard_summary` (`DashboardSummary`), `day_end` (`DayEnd`),
  `journal_between`, `signals_between` (the exports' periods).
- stats: a period's statistics: `stats` (`Stats`, with `Group`, `SymbolPnl`, `PeriodPnl`, `RBucket`), and the days
  with a close Sharpe and Sortino need, `SAMPLE_DAYS`.
- figures: the figures of a group of closed trades (`Figures`: win rate, profit factor, expectancy, ...), computed
  in SQL, for a period and for each of its groups, and the trades its ratios need, `SAMPLE_TRADES`.
- journal: the journal's reads: `trade_chart` and `chart_span` (`Chart`), `tags_used`, `day_note`, `history`,
  `history_page` (`HistoryFilter`, `HistoryPage`: keyset paging), `history_rows`, `history_totals`.
- events: the outbox: `events_after` (the events after an id, in id order), `events_newest_id`, and
  `EVENTS_PAGE_MAX`.
- orders: `order` (by id), `orders_working`, the working entry orders with their symbol's last price.
- replays: what a replay reads: `replay_signals` (`Selection`), `replay_symbols`, `replay_candles`, `replay_lots`,
  `replay_live` (the ledger's own trades to compare with), `replay_get`, `replays_recent`.
- checks: the consistency check: `ledger_violations` (`Violation`), `day_violations` (the per-day
  aggregates), `account_state` (a deficit), and `CENT`, how
  far a recorded PnL may be from the rules.
"""

from .books import (
    BookBalance,
    BookFigures,
    BookSetups,
    book,
    book_of_passphrase,
    book_visible,
    books_balances,
    books_compared,
    books_setups,
    books_tradable,
    books_visible,
    webhook_passphrases,
)
from .checks import CENT, Violation, account_state, day_violations, ledger_violations
from .core import (
    DailyPnl,
    DashboardSummary,
    DayEnd,
    EntryPlan,
    SignalsSummary,
    book_totals,
    candles,
    candles_newest,
    dashboard_summary,
    day_end,
    entry_plan,
    feed_status,
    journal_between,
    journal_for_day,
    ledger_version,
    market_lot,
    market_quote,
    newest_tick_at,
    open_since,
    pnl_daily,
    pnl_daily_range,
    prices_last,
    signal,
    signals_between,
    signals_board,
    signals_for_day,
    signals_summary,
    symbols,
    symbols_followed,
    trade,
    trades_active,
    trades_active_with_last_tick,
)
from .events import EVENTS_PAGE_MAX, events_after, events_newest_id
from .figures import SAMPLE_TRADES, Figures, Group
from .journal import (
    Chart,
    HistoryFilter,
    HistoryPage,
    chart_span,
    day_note,
    history,
    history_page,
    history_rows,
    history_totals,
    stop_moves,
    tags_used,
    trade_chart,
    trade_executions,
)
from .orders import order, orders_working
from .replays import (
    Selection,
    replay_candles,
    replay_get,
    replay_live,
    replay_lots,
    replay_signals,
    replay_symbols,
    replays_recent,
)
from .stats import SAMPLE_DAYS, PeriodPnl, RBucket, Stats, SymbolPnl, stats

__all__ = [
    "Selection",
    "replay_candles",
    "replay_get",
    "replay_live",
    "replay_lots",
    "replay_signals",
    "replay_symbols",
    "replays_recent",
    "book",
    "book_totals",
    "books_tradable",
    "books_compared",
    "books_setups",
    "BookFigures",
    "BookSetups",
    "BookBalance",
    "book_of_passphrase",
    "books_balances",
    "webhook_passphrases",
    "book_visible",
    "books_visible",
    "events_after",
    "events_newest_id",
    "EVENTS_PAGE_MAX",
    "account_state",
    "market_lot",
    "candles_newest",
    "feed_status",
    "prices_last",
    "candles",
    "Chart",
    "HistoryFilter",
    "HistoryPage",
    "PeriodPnl",
    "RBucket",
    "chart_span",
    "day_note",
    "history",
    "history_page",
    "history_rows",
    "history_totals",
    "stop_moves",
    "tags_used",
    "trade_chart",
    "trade_executions",
    "CENT",
    "DailyPnl",
    "DashboardSummary",
    "DayEnd",
    "EntryPlan",
    "Figures",
    "Group",
    "SAMPLE_DAYS",
    "SAMPLE_TRADES",
    "SignalsSummary",
    "Stats",
    "SymbolPnl",
    "Violation",
    "dashboard_summary",
    "day_end",
    "entry_plan",
    "journal_between",
    "journal_for_day",
    "market_quote",
    "newest_tick_at",
    "open_since",
    "ledger_version",
    "ledger_violations",
    "day_violations",
    "order",
    "order",
    "orders_working",
    "pnl_daily",
    "pnl_daily_range",
    "signal",
    "signals_between",
    "signals_board",
    "signals_for_day",
    "signals_summary",
    "stats",
    "symbols",
    "symbols_followed",
    "trade",
    "trades_active",
    "trades_active_with_last_tick",
]
