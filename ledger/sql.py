"""SQL that Django does not write, or does not write alike on SQLite and PostgreSQL, in one place: the indexes
of models.py and the reads of selectors/ share these expressions, so a query and the index that serves it
are built from the same words.

Each keeps the work in the database: Django's own versions of some of these (duration arithmetic, dates and
hours in a time zone) call a Python function for every row on SQLite, which a million rows feel.
"""

from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Case, F, FloatField, Func, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.fields import CharField, DateField, DecimalField, IntegerField
from django.db.models.functions import Greatest, Least
from django.db.models.sql.constants import LOUTER
from django.utils.dateparse import parse_datetime

from .days import utc_offsets
from .rules import ZERO, money


class Ratio(Func):
    """a / b in the database. SQLite keeps whole numbers as integers and would divide them as such (-30 / 60
    is 0 there), so it divides as REAL, read back through money_from_db like every raw number here."""

    arg_joiner = " / "
    template = "(%(expressions)s)"
    output_field = DecimalField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(CAST(%(expressions)s)", arg_joiner=" AS REAL) / ", **extra)


class NonZero(Func):
    """The value, or NULL where it is 0: a divisor that never divides by zero. The 0 is written into the SQL,
    not bound, so that an index on an expression that holds it matches the query's (SQLite compares the two
    expressions as written)."""

    template = "NULLIF(%(expressions)s, 0)"


class Numeric(Func):
    """The value with SQLite's NUMERIC affinity, which an index on a decimal expression gives it (Django writes
    CAST(... AS NUMERIC) around such an index's expression): then a query's expression matches the index's,
    and compares with a decimal parameter, sent as text, as a number. PostgreSQL needs nothing."""

    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS NUMERIC)", **extra)


def r_multiple(*, indexed: bool = False) -> Func:
    """A trade's R multiple, realized_pnl / risk_amount; NULL without a risk (or while open). `indexed`: as the
    index trade_by_r declares it, to which Django adds what Numeric adds for a query."""
    ratio = Ratio(F("realized_pnl"), NonZero(F("risk_amount")))
    return ratio if indexed else Numeric(ratio)


class HeldSeconds(Func):
    """exit_time - entry_time in seconds, by the database itself: Django's own duration arithmetic calls a
    Python function for every row on SQLite, which a million rows feel. SQLite answers a float, read back
    through its repr like every raw number here (money_from_db)."""

    arg_joiner = " - "
    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    output_field = FloatField()

    def __init__(self) -> None:
        super().__init__(F("exit_time"), F("entry_time"))

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400)",
            arg_joiner=") - julianday(",
            **extra,
        )


class LocalPart(Func):
    """The date, the ISO weekday (1 Monday .. 7 Sunday) or the hour (0 .. 23) of a moment in TRADING_DAY_TZ, by
    the database itself. PostgreSQL converts with AT TIME ZONE. SQLite has no time zones: it shifts the UTC
    time by the zone's offsets over `span`, the moments the rows fall between (days.utc_offsets: one entry, or
    one more per daylight-saving change), with a CASE on the column."""

    POSTGRESQL = {
        "date": "CAST({column} AT TIME ZONE %s AS DATE)",
        "isodow": "CAST(EXTRACT(ISODOW FROM {column} AT TIME ZONE %s) AS INTEGER)",
        "hour": "CAST(EXTRACT(HOUR FROM {column} AT TIME ZONE %s) AS INTEGER)",
    }
    SQLITE = {
        "date": "date({local})",
        "isodow": "((CAST(strftime('%%w', {local}) AS INTEGER) + 6) %% 7 + 1)",
        "hour": "CAST(strftime('%%H', {local}) AS INTEGER)",
    }

    def __init__(self, column: str, part: str, *, span: tuple[datetime, datetime]) -> None:
        super().__init__(F(column), output_field=DateField() if part == "date" else IntegerField())
        self.part, self.span = part, span

    def _column(self, compiler) -> str:
        column, params = compiler.compile(self.source_expressions[0])
        assert not params  # a column: it may be written several times
        return column

    def as_postgresql(self, compiler, connection, **extra):
        return self.POSTGRESQL[self.part].format(column=self._column(compiler)), [str(settings.TRADING_DAY_TZ)]

    def as_sqlite(self, compiler, connection, **extra):
        column, cases, moments, offsets = self._column(compiler), [], [], utc_offsets(*self.span)
        for (_, before), (since, _) in zip(offsets, offsets[1:], strict=False):
            cases.append(f"WHEN {column} < %s THEN '{before:+d} seconds'")
            moments.append(connection.ops.adapt_datetimefield_value(since))
        last = f"'{offsets[-1][1]:+d} seconds'"
        shift = f"CASE {' '.join(cases)} ELSE {last} END" if cases else last
        # To the second: SQLite reads a time in milliseconds, and would round 23:59:59.999999 (the last moment of a
        # day, when the end of day closes) into the next day.
        return self.SQLITE[self.part].format(local=f"datetime(substr({column}, 1, 19), {shift})"), moments


class Tagged(Func):
    """A trade that has at least one tag. Written with its literal, so that the partial index of the tagged
    trades (models.PaperTrade) serves the query that says it."""

    template = "%(expressions)s <> '[]'"
    output_field = BooleanField()
    conditional = True

    def __init__(self) -> None:
        super().__init__(F("tags"))


class HasElement(Func):
    """A JSON list column holds the value among its elements, whatever its case: UPPER on both sides, as
    Django's `icontains` compares (all of Unicode on PostgreSQL, the ASCII letters on SQLite)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, value: str) -> None:
        super().__init__(F(column), Value(value))

    def as_sql(self, compiler, connection, **extra):
        column, value = self.source_expressions
        column_sql, column_params = compiler.compile(column)
        value_sql, value_params = compiler.compile(value)
        elements = (
            f"jsonb_array_elements_text({column_sql}) AS element(value)"
            if connection.vendor == "postgresql"
            else f"json_each({column_sql}) AS element"  # its column `value` is the element
        )
        return f"EXISTS (SELECT 1 FROM {elements} WHERE UPPER(element.value) = UPPER({value_sql}))", (
            *column_params,
            *value_params,
        )


class JsonElements:
    """A LEFT JOIN of the elements of a JSON list column (a trade's tags, its signal's confluences, both sets:
    inputs.clean_tags and inputs.unique_confluences): one row per element, and one row with NULL for an empty
    or missing list, so a GROUP BY on the element counts a trade once in each of its elements and once in
    "none". Django cannot write this
    join; it follows the contract of the entries of Query.alias_map (django.db.models.sql.datastructures.Join:
    table_name, table_alias, join_type, parent_alias, as_sql, relabeled_clone)."""

    join_type = LOUTER
    nullable = True
    filtered_relation = None

    def __init__(self, column_sql: str, *, parent_alias: str, alias: str) -> None:
        self.column_sql, self.parent_alias = column_sql, parent_alias
        self.table_name = self.table_alias = alias

    def as_sql(self, compiler, connection):
        column, alias = self.column_sql, self.table_alias
        if connection.vendor == "postgresql":
            return f"LEFT JOIN LATERAL (SELECT jsonb_array_elements_text({column}) AS value) AS {alias} ON TRUE", []
        return f"LEFT JOIN json_each({column}) AS {alias}", []

    def relabeled_clone(self, change_map: dict) -> "JsonElements":
        return self


def by_element(rows: QuerySet, path: str, *, alias: str = "element") -> tuple[QuerySet, RawSQL]:
    """`rows` joined to the elements of the JSON list at `path` (a column, or one across a relation such as
    signal__confluences), and the element's expression to group by (NULL: the list was empty or missing).
    The list never repeats an element (cleaned on the way in), so no search for repeats is needed."""
    rows = rows.annotate(**{f"{alias}_list": F(path)})  # makes Django join whatever the path crosses
    query = rows.query
    column_sql, params = query.get_compiler(connection=connection).compile(query.annotations[f"{alias}_list"])
    assert not params
    query.alias_map[alias] = JsonElements(column_sql, parent_alias=query.get_initial_alias(), alias=alias)
    query.alias_refcount[alias] = 1
    return rows, RawSQL(f"{alias}.value", [], output_field=CharField())


def money_from_db(value: object) -> Decimal:
    """A sum from the database as Decimal to 8 places and 15 significant digits (rules.money), so that both
    databases answer the same: SQLite sums in floats (15 digits) and hands raw queries floats, PostgreSQL sums
    exactly, in more digits than SQLite could."""
    if value is None:
        return ZERO
    amount = money(Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
    return amount or ZERO  # 0, not 0E-8


def moment_from_db(value: datetime | str | None) -> datetime | None:
    """A time from a raw query: PostgreSQL gives an aware datetime, SQLite a naive UTC one or its text."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Rounded(Func):
    """An expression read back as a Decimal rounded half to even to `places`, as rules.money rounds (a Cast
    would round half away from zero on PostgreSQL, and SQLite would hand back 15 significant digits)."""

    template = "%(expressions)s"

    def __init__(self, expression, *, places: int) -> None:
        super().__init__(expression, output_field=DecimalField(max_digits=30, decimal_places=places))

    def get_db_converters(self, connection):
        quantum = Decimal(1).scaleb(-self.output_field.decimal_places)
        return [
            *super().get_db_converters(connection),
            lambda value, *_: None if value is None else value.quantize(quantum),
        ]


def excursions_in_money() -> tuple[Greatest, Least]:
    """rules.excursions in SQL: a trade's MFE and MAE in money, unrounded, from its highest and lowest price while
    open (the export's columns and the statistics' sums; tests/test_views_exports.py holds them to the rules)."""
    long = Q(direction="LONG")  # PaperTrade.Direction.LONG: models.py builds on this module
    best = Case(When(long, then=F("max_price") - F("entry_price")), default=F("entry_price") - F("min_price"))
    worst = Case(When(long, then=F("min_price") - F("entry_price")), default=F("entry_price") - F("max_price"))
    amount = DecimalField()
    return Greatest(best * F("position_size"), Value(0), output_field=amount), Least(
        worst * F("position_size"), Value(0), output_field=amount
    )


class WeekOf(Func):
    """The Monday of a date's ISO week, by the database: a series over years summed by week."""

    output_field = DateField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(date_trunc('week', %(expressions)s) AS DATE)", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        assert not params  # a column: written twice
        shift = f"((CAST(strftime('%%w', {column}) AS INTEGER) + 6) %% 7)"
        return f"date({column}, '-' || {shift} || ' days')", []
