from datetime import date

from django.urls import path, register_converter

from .inputs import EARLIEST_DAY
from .views import books, dashboard, events, exports, history, replays, stats, trades


class DayConverter:
    """YYYY-MM-DD in a URL, a day from 1970 on, as a date; anything else is a 404. A day after today is left to
    the view, which answers every day that has not happened the same way."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> date:
        day = date.fromisoformat(value)  # ValueError (e.g. 2026-02-31) makes the URL not match
        if day < EARLIEST_DAY:
            raise ValueError(f"{day} is before the ledger's days")
        return day

    def to_url(self, value: date | str) -> str:
        return str(value)  # a date's str() is YYYY-MM-DD


register_converter(DayConverter, "day")

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("day/<day:day>/", dashboard.dashboard, name="dashboard-day"),
    path("day/<day:day>/signals/", dashboard.day_signals, name="day-signals"),
    path("day/<day:day>/diary/", dashboard.day_diary, name="day-diary"),
    path("trades/<int:trade_id>/", trades.trade_page, name="trade"),
    path("trades/<int:trade_id>/chart.json", trades.trade_chart, name="trade-chart"),
    path("trades/<int:trade_id>/notes/", trades.trade_notes, name="trade-notes"),
    path("trades/<int:trade_id>/levels/", trades.trade_levels, name="trade-levels"),
    path("trades/<int:trade_id>/close/", dashboard.trade_close, name="trade-close"),
    path("signals/<str:signal_id>/execute/", dashboard.signal_execute, name="signal-execute"),
    path("signals/<str:signal_id>/expire/", dashboard.signal_expire, name="signal-expire"),
    path("orders/<int:order_id>/cancel/", dashboard.order_cancel, name="order-cancel"),
    path("journal/", history.history_page, name="history"),
    path("journal/export.csv", history.history_csv, name="history-csv"),
    path("journal/choices/", history.history_choices, name="history-choices"),
    path("stats/", stats.stats_page, name="stats"),
    path("books/", books.books_page, name="books"),
    path("live/events", events.events, name="live-events"),
    path("replay/", replays.replay_page, name="replay"),
    path("replay/<int:replay_id>/", replays.replay_detail, name="replay-detail"),
    path("replay/<int:replay_id>/cancel/", replays.replay_cancel, name="replay-cancel"),
    path("export/journal.csv", exports.journal_csv, name="export-journal"),
    path("export/signals.csv", exports.signals_csv, name="export-signals"),
]
