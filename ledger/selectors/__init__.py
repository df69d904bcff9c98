"""Every read that the pages, the API and the commands share (`selectors.trades_active`, ...).

core: the ledger's rows and the day's figures; stats: a period's statistics; checks: the consistency check.
Selectors never write and never import the services.
"""

from .checks import CENT, Violation, ledger_violations
from .core import (
    DailyPnl,
    DashboardSummary,
    SignalsSummary,
    account,
    candles,
    dashboard_summary,
    equity,
    journal_between,
    journal_for_day,
    ledger_version,
    market_quote,
    newest_tick_at,
    open_since,
    pnl_daily,
    pnl_daily_range,
    signals_between,
    signals_for_day,
    signals_summary,
    symbols,
    symbols_followed,
    trade,
    trades_active,
    trades_active_with_last_tick,
)
from .stats import Figures, Group, Stats, SymbolPnl, stats

__all__ = [
    "account",
    "candles",
    "CENT",
    "DailyPnl",
    "DashboardSummary",
    "Figures",
    "Group",
    "SignalsSummary",
    "Stats",
    "SymbolPnl",
    "Violation",
    "dashboard_summary",
    "equity",
    "journal_between",
    "journal_for_day",
    "market_quote",
    "newest_tick_at",
    "open_since",
    "ledger_version",
    "ledger_violations",
    "pnl_daily",
    "pnl_daily_range",
    "signals_between",
    "signals_for_day",
    "signals_summary",
    "stats",
    "symbols",
    "symbols_followed",
    "trade",
    "trades_active",
    "trades_active_with_last_tick",
]
