"""The statistics page's charts as geometry: pure functions from the daily series (and the R histogram's buckets)
to SVG coordinates.

Money stays Decimal and so do the coordinates (formatted to one decimal place for the markup); the
markup itself is in ledger/templates/ledger/stats.html. A chart has one x position per slot (a day, or on a long
period a week or a month: `slots`), the slot's centre, so the equity curve and the PnL bars line up.
"""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import ClassVar

from .days import month_of, week_of
from .selectors import DailyPnl, RBucket

PIXEL = Decimal("0.1")
# A chart of a long period draws a slot a week or a month, not a day: bars a few pixels wide, and hundreds of
# them, tell nothing, and their markup weighs hundreds of KB.
BY_DAY_UP_TO = 92  # days: up to a quarter, a slot a day
BY_WEEK_UP_TO = 731  # up to two years, a slot a week (from its Monday); longer, a slot a calendar month


def _px(value: Decimal) -> str:
    return str(value.quantize(PIXEL))


@dataclass(frozen=True)
class Frame:
    """A chart's box (a viewBox of width x height with margins for the labels) and the value range it shows."""

    width: ClassVar[int] = 760
    height: ClassVar[int] = 200
    left: ClassVar[int] = 96  # room for the value labels
    right: ClassVar[int] = 750
    top: ClassVar[int] = 10
    bottom: ClassVar[int] = 178  # room for the date labels below

    days: int
    low: Decimal
    high: Decimal

    @classmethod
    def around(cls, days: int, values: Sequence[Decimal]) -> "Frame":
        low, high = min(values), max(values)
        if low == high:  # a flat line sits in the middle
            low, high = low - 1, high + 1
        return cls(days, low, high)

    def x(self, index: int) -> Decimal:
        """The centre of the index-th day's slot."""
        return self.left + Decimal((self.right - self.left) * (2 * index + 1)) / (2 * self.days)

    def slot(self) -> Decimal:
        return Decimal(self.right - self.left) / self.days

    def y(self, value: Decimal) -> Decimal:
        return self.top + (self.high - value) * (self.bottom - self.top) / (self.high - self.low)


@dataclass(frozen=True)
class Slot:
    """A day, a week or a month of the period, as one place on a chart: from its first day in the period to its
    last, with their realized PnL and closes added up."""

    first: date
    last: date
    realized_pnl: Decimal
    trades: int


def slots(daily: Sequence[DailyPnl]) -> tuple[str, list[Slot]]:
    """The daily series as a chart's slots and their unit: "day", "week" or "month" by the period's length."""
    unit = "day" if len(daily) <= BY_DAY_UP_TO else "week" if len(daily) <= BY_WEEK_UP_TO else "month"
    start_of = {"day": lambda day: day, "week": week_of, "month": month_of}[unit]
    grouped: list[Slot] = []
    for day in daily:
        if grouped and start_of(grouped[-1].first) == start_of(day.day):
            slot = grouped[-1]
            grouped[-1] = Slot(slot.first, day.day, slot.realized_pnl + day.realized_pnl, slot.trades + day.trades)
        else:
            grouped.append(Slot(day.day, day.day, day.realized_pnl, day.trades))
    return unit, grouped


@dataclass(frozen=True)
class Point:
    day: date  # the slot's last day, at whose end the equity is
    value: Decimal
    x: str
    y: str


@dataclass(frozen=True)
class Tick:
    value: Decimal
    y: str


@dataclass(frozen=True)
class EquityChart:
    unit: str  # a point a day, week or month
    frame: Frame
    points: list[Point]  # the equity at the end of each day
    drawdown: str  # a polygon between the running peak and the equity: the area under water
    baseline: str  # the y of the equity the period started with
    ticks: list[Tick]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)


def equity_chart(daily: Sequence[DailyPnl], starting_balance: Decimal) -> EquityChart | None:
    """The equity at each slot's end (the starting balance plus the realized PnL so far), with the fall from its
    running peak (which starts at the starting equity) shaded. None without days."""
    if not daily:
        return None
    unit, grouped = slots(daily)
    equity, peaks = [], []
    value = peak = starting_balance
    for slot in grouped:
        value += slot.realized_pnl
        peak = max(peak, value)
        equity.append(value)
        peaks.append(peak)
    frame = Frame.around(len(grouped), [starting_balance, *equity])
    points = [
        Point(slot.last, v, _px(frame.x(i)), _px(frame.y(v)))
        for i, (slot, v) in enumerate(zip(grouped, equity, strict=True))
    ]
    tops = [f"{p.x},{_px(frame.y(top))}" for p, top in zip(points, peaks, strict=True)]
    bottoms = [f"{p.x},{p.y}" for p in reversed(points)]
    return EquityChart(
        unit=unit,
        frame=frame,
        points=points,
        drawdown=" ".join(tops + bottoms),
        baseline=_px(frame.y(starting_balance)),
        ticks=[Tick(frame.high, _px(frame.y(frame.high))), Tick(frame.low, _px(frame.y(frame.low)))],
    )


@dataclass(frozen=True)
class Bar:
    day: date  # the slot's first day in the period
    last: date  # ... and its last
    value: Decimal
    trades: int
    x: str  # the left edge
    y: str  # the top edge
    width: str
    height: str
    css: str  # gain, loss or flat


@dataclass(frozen=True)
class BarChart:
    unit: str  # a bar a day, week or month
    frame: Frame
    bars: list[Bar]
    zero: str  # the y of 0
    ticks: list[Tick]


def _bar(frame: Frame, i: int, value: Decimal, width: Decimal) -> tuple[str, str, str, str]:
    """The i-th slot's bar from 0 to `value`, up or down: its left, top, width and height."""
    top, bottom = frame.y(max(value, Decimal(0))), frame.y(min(value, Decimal(0)))
    return _px(frame.x(i) - width / 2), _px(top), _px(width), _px(bottom - top)


def pnl_bars(daily: Sequence[DailyPnl]) -> BarChart | None:
    """A bar per slot from 0 up to a gain or down to a loss. None without days."""
    if not daily:
        return None
    unit, grouped = slots(daily)
    frame = Frame.around(len(grouped), [Decimal(0), *(slot.realized_pnl for slot in grouped)])
    width = frame.slot() * Decimal("0.8")
    bars = []
    for i, slot in enumerate(grouped):
        value = slot.realized_pnl
        css = "flat" if not value else "gain" if value > 0 else "loss"
        bars.append(Bar(slot.first, slot.last, value, slot.trades, *_bar(frame, i, value, width), css))
    ticks = [Tick(frame.high, _px(frame.y(frame.high))), Tick(frame.low, _px(frame.y(frame.low)))]
    return BarChart(unit=unit, frame=frame, bars=bars, zero=_px(frame.y(Decimal(0))), ticks=ticks)


@dataclass(frozen=True)
class Cell:
    day: date
    x: int
    y: int
    pnl: Decimal
    trades: int
    level: str  # none (no close), flat, gain-1..gain-4 or loss-1..loss-4 (a quarter of the month's largest)
    linked: bool  # a day that has begun has a dashboard page


CELL, STEP, HEAD = 40, 44, 18  # a calendar day's square, with the gap after it; the row of weekday names


@dataclass(frozen=True)
class Calendar:
    CELL: ClassVar[int] = CELL
    WEEKDAYS: ClassVar[list[tuple[str, int]]] = [
        (name, i * STEP + CELL // 2) for i, name in enumerate(["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"])
    ]

    month: date
    cells: list[Cell]
    height: int

    @property
    def width(self) -> int:
        return 7 * STEP - (STEP - CELL)

    @property
    def previous(self) -> date:
        return (self.month - timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> date:
        return (self.month + timedelta(days=31)).replace(day=1)


def _level(day: DailyPnl, largest: Decimal) -> str:
    if not day.trades:
        return "none"
    if not day.realized_pnl:
        return "flat"
    quarter = int((4 * abs(day.realized_pnl) / largest).to_integral_value(rounding=ROUND_CEILING))
    return f"{'gain' if day.realized_pnl > 0 else 'loss'}-{quarter}"


def month_calendar(month: date, daily: Sequence[DailyPnl], today: date) -> Calendar:
    """A month's days in weeks from Monday, each coloured by its realized PnL (daily: the month's days)."""
    largest = max((abs(d.realized_pnl) for d in daily), default=Decimal(0))
    offset = month.weekday()  # the 1st's column
    cells = [
        Cell(
            d.day,
            (offset + i) % 7 * STEP,
            HEAD + (offset + i) // 7 * STEP,
            d.realized_pnl,
            d.trades,
            _level(d, largest),
            d.day <= today,
        )
        for i, d in enumerate(daily)
    ]
    weeks = (offset + calendar.monthrange(month.year, month.month)[1] + 6) // 7
    return Calendar(month=month, cells=cells, height=HEAD + weeks * STEP - (STEP - CELL))


@dataclass(frozen=True)
class Column:
    bucket: RBucket
    x: str  # the left edge
    y: str  # the top edge
    width: str
    height: str
    centre: str
    css: str  # loss below 0R, gain from 0R up
    label: str  # the bucket's low edge, or "<" for the lowest


@dataclass(frozen=True)
class Histogram:
    frame: Frame
    columns: list[Column]
    zero: str  # the y of 0 trades


def r_histogram(buckets: Sequence[RBucket]) -> Histogram | None:
    """A column per R bucket, as tall as its count of trades. None when no trade has a risk."""
    if not any(bucket.trades for bucket in buckets):
        return None
    frame = Frame.around(len(buckets), [Decimal(0), *(Decimal(bucket.trades) for bucket in buckets)])
    width = frame.slot() * Decimal("0.85")
    columns = []
    for i, bucket in enumerate(buckets):
        css = "loss" if bucket.high is not None and bucket.high <= 0 else "gain"
        label = "<" if bucket.low is None else f"{bucket.low.normalize():f}"
        columns.append(Column(bucket, *_bar(frame, i, Decimal(bucket.trades), width), _px(frame.x(i)), css, label))
    return Histogram(frame=frame, columns=columns, zero=_px(frame.y(Decimal(0))))
