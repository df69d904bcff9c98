"""Every read that the pages, the API and the commands share (`selectors.trades_active`, ...).

core: the ledger's rows and the day's figures; stats: a period's statistics; journal: a trade's chart, the tags in
use, a day's diary and the history of closed trades; checks: the consistency check.
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
    pnl_daily,
    pnl_daily_range,
    signals_between,
    signals_for_day,
    signals_summary,
    symbols,
    trade,
    trades_active,
)
from .journal import Chart, HistoryFilter, HistoryPage, chart_span, day_note, history, history_page, history_rows, tags_used, trade_chart
from .stats import Figures, Group, PeriodPnl, RBucket, Stats, SymbolPnl, stats

__all__ = [
    "account",
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
    "tags_used",
    "trade_chart",
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
    "ledger_version",
    "ledger_violations",
    "pnl_daily",
    "pnl_daily_range",
    "signals_between",
    "signals_for_day",
    "signals_summary",
    "stats",
    "symbols",
    "trade",
    "trades_active",
]
