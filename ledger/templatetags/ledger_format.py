"""Numbers a trader reads at a glance: grouped thousands, signs on PnL, prices without noise."""

from datetime import datetime, timedelta
from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .. import rules
from ..models import PaperTrade

register = template.Library()


@register.filter
def money(value: Decimal | None) -> str:
    """12,345.67 (two places, grouped)."""
    return "—" if value is None else f"{value:,.2f}"


@register.filter
def signed(value: Decimal | None) -> str:
    """+12.35 / −4.10 with a true minus sign, for PnL; a flat 0.00 has no sign."""
    if value is None:
        return "—"
    if not value.quantize(Decimal("0.01")):
        return "0.00"
    text = f"{value:+,.2f}"
    return text.replace("-", "\u2212")


@register.filter
def price(value: Decimal | None) -> str:
    """A price or size with as many places as it has (8 at most), at least 2: 64,123.5 -> 64,123.50."""
    if value is None:
        return "—"
    places = max(2, -value.normalize().as_tuple().exponent)
    return f"{value:,.{min(places, 8)}f}"


@register.filter
def breakable(text: str) -> SafeString:
    """A long number that may wrap after its decimal point, not between any two digits, where its box is too
    narrow for it (a size of 21,640.1656094 on a card): 21,640.<wbr>1656094."""
    whole, point, places = str(text).partition(".")
    return format_html("{}{}<wbr>{}", whole, point, places) if point else format_html("{}", text)


@register.filter
def r_multiple(value: Decimal | None) -> str:
    """+1.90R / −0.15R: PnL in units of the risk taken."""
    return "—" if value is None else f"{value:+.2f}R".replace("-", "\u2212")


@register.filter
def signed_pct(value: Decimal | None) -> str:
    """+1.25% / −0.40%, a percentage already times 100."""
    return "—" if value is None else f"{value:+.2f}%".replace("-", "\u2212")


@register.filter
def pct(value: Decimal | None) -> str:
    """1.25%, a percentage already times 100."""
    return "—" if value is None else f"{value:.2f}%"


@register.filter
def percent(value: Decimal | None) -> str:
    """A fraction as a whole percentage: 0.3142 -> 31%."""
    return "—" if value is None else f"{value * 100:.0f}%"


@register.filter
def rate(value: Decimal) -> str:
    """A small rate exactly: 0.001 -> 0.1%."""
    return f"{(value * 100).normalize():f}%"


@register.filter
def pnl_class(value: Decimal | None) -> str:
    """The CSS class that colours a PnL: gain, loss or flat."""
    if not value:
        return "flat"
    return "gain" if value > 0 else "loss"


def _short(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


@register.filter
def age(since: datetime) -> str:
    """How long ago, to the minute (a part's ETag holds for a minute): <1m, 7m, 3h 05m, 2d 4h."""
    span = timezone.now() - since
    return "<1m" if span < timedelta(minutes=1) else _short(span)


@register.filter
def span(value: timedelta | None) -> str:
    """A length of time: 45s, 7m, 3h 05m, 2d 4h."""
    return "—" if value is None else _short(value)


@register.filter
def duration(start: datetime, end: datetime | None) -> str:
    return "—" if end is None else _short(end - start)


@register.filter
def since(moment: datetime | None) -> str:
    """How long ago, to the second under a minute: 12s, 3m, 1h 05m; — for never."""
    return "—" if moment is None else _short(timezone.now() - moment)


@register.filter
def stale(seen: datetime | None) -> bool:
    """Whether a price seen then is too old to price an entry now (PAPER_PRICE_MAX_AGE), or there is none."""
    return seen is None or not rules.fresh(seen, at=timezone.now())


@register.filter
def plain(value: Decimal | None) -> str:
    """A number as a form field holds it, exactly and without grouping: 64123.5, not 64,123.50000000."""
    return "" if value is None else rules.plain(value)


@register.filter
def exit_label(status: str) -> str:
    """How every page names an exit: STOP_LOSS -> Stop loss."""
    return PaperTrade.Status(status).label


@register.filter
def decimal_text(value: str | None) -> Decimal | None:
    """A number kept as text in JSON (a replay's figures) as a Decimal, for the filters above; None stays None."""
    return None if value is None else Decimal(value)


@register.filter
def replay_exit(status: str) -> str:
    """A replayed trade's end as every page names an exit; a signal the replay did not take says so."""
    return "Not taken" if status == "REFUSED" else exit_label(status)


def trade_link(trade: PaperTrade) -> SafeString:
    """A link to the trade's own page, #<id>, in a notice or the admin's list."""
    return format_html('<a href="{}">#{}</a>', reverse("trade", args=[trade.pk]), trade.pk)
