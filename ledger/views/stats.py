"""The statistics page (/stats/): the figures of a period, its charts and a month's calendar (docs/statistics.md).

Thin: PeriodForm (ledger/forms.py) reads the period from the query string, selectors.stats computes,
ledger.charts places the shapes, and ledger/templates/ledger/stats.html draws them as inline SVG (no script).
"""

import calendar as months
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import charts, selectors
from ..days import today
from ..forms import LAST_DAYS, PeriodForm
from .base import HtmxHttpRequest, render_page


@login_required
@require_GET
def stats_page(request: HtmxHttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return render(request, "ledger/stats.html", {"form": form, "presets": LAST_DAYS}, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    # The page reads the per-day aggregates alone; what needs the trades is its part, asked for once it shows (a
    # page without script asks with a link, and gets both).
    part = request.GET.get("part") == "trade-figures"
    stats = selectors.stats(request.book, start, end, trades=part)
    month = form.cleaned_data["month"] or (end or today()).replace(day=1)
    month_end = month.replace(day=months.monthrange(month.year, month.month)[1])
    context = {
        "form": form,
        "presets": LAST_DAYS,
        "query": form.query(),
        "stats": stats,
        "equity": charts.equity_chart(stats.daily, stats.starting_balance),
        "bars": charts.pnl_bars(stats.daily),
        "calendar": charts.month_calendar(month, selectors.pnl_daily_range(request.book, month, month_end), today()),
        "histogram": charts.r_histogram(stats.r_histogram) if stats.trades_loaded else None,
        # (title, groups, what a group without a key holds, the history's filter that lists a group's trades)
        "breakdowns": [
            ("By symbol", stats.by_symbol, "", "symbol"),
            ("By direction", stats.by_direction, "", "side"),
            ("By exit reason", stats.by_exit_reason, "", "reason"),
            ("By tag", stats.by_tag, "no tag", "tag"),
            ("By confluence", stats.by_confluence, "none", None),
            ("By timeframe", stats.by_timeframe, "none", None),
            ("By confidence", stats.by_confidence, "no signal", None),
            ("By weekday of entry", stats.by_weekday, "", None),
            ("By hour of entry", stats.by_hour, "", None),
        ],
        "history_period": urlencode({"start": start, "end": end}) if start else "",
        # over more than two years, the months alone: a hundred weeks and more is not a table to read
        "period_tables": [
            *(
                [("Weeks", stats.weekly, "\\W\\e\\e\\k \\o\\f j M Y")]
                if len(stats.daily) <= charts.BY_WEEK_UP_TO
                else []
            ),
            ("Months", stats.monthly, "F Y"),
        ],
        "trading_tz": settings.TRADING_DAY_TZ,
        "sample_trades": selectors.SAMPLE_TRADES,
        "sample_days": selectors.SAMPLE_DAYS,
    }
    # the drawdown's times in the trading day's zone
    return render_page(request, "ledger/stats.html", context, part="trade-figures" if part and request.htmx else None)
