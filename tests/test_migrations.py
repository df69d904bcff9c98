"""Existing data moves to new rules: the fills and cash of migration 0005 (what an operator's database holds
before the upgrade is revalued, and the account learns what its open trades hold of its cash), the known highs
and lows of 0007, and API tokens that could write before they had scopes (0010)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE, AFTER = [("ledger", "0004_account_version")], [("ledger", "0006_exit_quote_required")]
AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def latest_schema_after():
    """Every other test expects the latest schema: put it back whatever a test migrated to."""
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_open_trades_are_revalued_at_a_market_exit_and_the_account_holds_their_cost(settings):
    settings.PAPER_SLIPPAGE = Decimal("0.0005")
    old = migrate(BEFORE)
    PaperTrade, Account = old.get_model("ledger", "PaperTrade"), old.get_model("ledger", "Account")
    common = {
        "symbol": "BTCUSDT",
        "direction": "LONG",
        "entry_price": Decimal("100"),
        "position_size": Decimal("50"),
        "stop_loss": Decimal("98"),
        "take_profit": Decimal("104"),
        "entry_time": AT,
        "risk_amount": Decimal("100"),
    }
    # Valued the old way at 101: fees 5 + 5.05, unrealized 39.95.
    opened = PaperTrade.objects.create(
        **common, current_price=Decimal("101"), fees=Decimal("10.05"), unrealized_pnl=Decimal("39.95")
    )
    closed = PaperTrade.objects.create(
        **common,
        status="TAKE_PROFIT",
        current_price=Decimal("104"),
        exit_price=Decimal("104"),
        exit_time=AT,
        realized_pnl=Decimal("189.8"),
        fees=Decimal("10.2"),
    )
    Account.objects.create(pk=1, realized_pnl_total=Decimal("189.8"))

    new = migrate(AFTER)

    PaperTrade, Account = new.get_model("ledger", "PaperTrade"), new.get_model("ledger", "Account")
    opened, closed = PaperTrade.objects.get(pk=opened.pk), PaperTrade.objects.get(pk=closed.pk)
    assert opened.exit_quote == Decimal("100.9495")  # a market sell at 101 less 0.0005
    # (100.9495 - 100) * 50 = 47.475; fees 5 + 0.001 * 100.9495 * 50 = 5.0474750; slippage 0.0505 * 50
    assert (opened.fees, opened.unrealized_pnl, opened.slippage) == (
        Decimal("10.04747500"),
        Decimal("37.42752500"),
        Decimal("2.525"),
    )
    assert (closed.exit_quote, closed.realized_pnl) == (
        Decimal("104"),
        Decimal("189.8"),
    )  # a closed trade is left as it was
    assert Account.objects.get().open_cost == Decimal("5005")  # 50 * 100 + the 5 entry fee


def test_trades_get_the_high_and_low_that_are_known():
    old = migrate([("ledger", "0006_exit_quote_required")])
    PaperTrade = old.get_model("ledger", "PaperTrade")
    common = {
        "symbol": "BTCUSDT",
        "direction": "LONG",
        "entry_price": Decimal("100"),
        "position_size": Decimal("50"),
        "stop_loss": Decimal("98"),
        "take_profit": Decimal("104"),
        "entry_time": AT,
        "risk_amount": Decimal("100"),
    }
    opened = PaperTrade.objects.create(**common, current_price=Decimal("101"), exit_quote=Decimal("101"))
    closed = PaperTrade.objects.create(
        **common,
        status="STOP_LOSS",
        current_price=Decimal("97"),
        exit_quote=Decimal("97"),
        exit_price=Decimal("97"),
        exit_time=AT,
        realized_pnl=Decimal("-160"),
    )

    new = migrate([("ledger", "0008_excursions_required")])

    PaperTrade = new.get_model("ledger", "PaperTrade")
    assert PaperTrade.objects.values_list("max_price", "min_price").get(pk=opened.pk) == (
        Decimal("101"),
        Decimal("100"),
    )
    assert PaperTrade.objects.values_list("max_price", "min_price").get(pk=closed.pk) == (Decimal("100"), Decimal("97"))


def test_tokens_made_before_scopes_keep_writing():
    old = migrate([("ledger", "0009_trade_permission")])
    old.get_model("ledger", "ApiToken").objects.create(name="old-bot", key_hash="0" * 64, prefix="pt_old")

    new = migrate([("ledger", "0010_api_token_scope")])

    assert new.get_model("ledger", "ApiToken").objects.get(name="old-bot").scope == "trade"


def test_stored_confluences_are_kept_once_each_in_the_order_first_seen():
    old = migrate([("ledger", "0015_market_lots_and_margin")])
    Signal = old.get_model("ledger", "Signal")
    common = {"symbol": "BTCUSDT", "action": "BUY", "entry_price": Decimal("100"), "confidence": Decimal("0.5")}
    repeated = Signal.objects.create(**common, signal_id="rep", timestamp=AT, confluences=["trend", "volume", "trend"])
    kept = Signal.objects.create(**common, signal_id="set", timestamp=AT, confluences=["volume", "trend"])

    new = migrate([("ledger", "0016_confluences_unique")])

    Signal = new.get_model("ledger", "Signal")
    assert Signal.objects.get(pk=repeated.pk).confluences == ["trend", "volume"]
    assert Signal.objects.get(pk=kept.pk).confluences == ["volume", "trend"]  # a set already: as it was


def test_existing_trades_get_an_entry_execution_and_closed_ones_an_exit():
    old = migrate([("ledger", "0021_brackets_and_executions")])
    PaperTrade = old.get_model("ledger", "PaperTrade")
    common = {
        "symbol": "BTCUSDT",
        "direction": "LONG",
        "entry_price": Decimal("100"),
        "position_size": Decimal("50"),
        "stop_loss": Decimal("98"),
        "take_profit": Decimal("104"),
        "entry_time": AT,
        "risk_amount": Decimal("100"),
        "max_price": Decimal("104"),
        "min_price": Decimal("100"),
    }
    opened = PaperTrade.objects.create(
        **common, current_price=Decimal("101"), exit_quote=Decimal("101"), fees=Decimal("10.05")
    )
    closed = PaperTrade.objects.create(
        **common,
        status="TAKE_PROFIT",
        current_price=Decimal("104"),
        exit_quote=Decimal("104"),
        exit_price=Decimal("104"),
        exit_time=AT,
        realized_pnl=Decimal("189.8"),
        fees=Decimal("10.2"),
        entry_slippage=Decimal("0.01"),
        slippage=Decimal("0.5"),
    )

    new = migrate([("ledger", "0022_executions_from_trades")])

    Execution = new.get_model("ledger", "Execution")
    fields = ("kind", "time", "price", "size", "fee", "slippage", "pnl", "reason")
    assert list(Execution.objects.filter(trade_id=opened.pk).values_list(*fields)) == [
        ("entry", AT, Decimal("100"), Decimal("50"), Decimal("5"), Decimal("0"), Decimal("0"), "ENTRY"),
    ]
    # Fees 10.2: the entry's 0.001 x 100 x 50 = 5, the exit the rest 5.2; slippage 0.01 x 50 = 0.5 at the entry.
    assert list(Execution.objects.filter(trade_id=closed.pk).order_by("pk").values_list(*fields)) == [
        ("entry", AT, Decimal("100"), Decimal("50"), Decimal("5"), Decimal("0.5"), Decimal("0"), "ENTRY"),
        ("exit", AT, Decimal("104"), Decimal("50"), Decimal("5.2"), Decimal("0"), Decimal("189.8"), "TAKE_PROFIT"),
    ]


def test_the_per_day_aggregates_are_filled_from_the_closed_trades():
    old = migrate([("ledger", "0027_book_passphrase_and_history")])
    PaperTrade, Book = old.get_model("ledger", "PaperTrade"), old.get_model("ledger", "Book")
    book = Book.objects.get_or_create(slug="default", defaults={"name": "Default"})[0]
    common = {
        "book": book,
        "symbol": "BTCUSDT",
        "direction": "LONG",
        "entry_price": Decimal("100"),
        "position_size": Decimal("50"),
        "stop_loss": Decimal("98"),
        "take_profit": Decimal("104"),
        "entry_time": AT,
        "risk_amount": Decimal("100"),
        "current_price": Decimal("104"),
        "exit_quote": Decimal("104"),
        "max_price": Decimal("104"),
        "min_price": Decimal("100"),
        "fees": Decimal("10"),
    }
    for pnl, exit_price, hours in (("190", "104", 1), ("-110", "98", 2), ("40", "101", 30)):
        PaperTrade.objects.create(
            **common,
            status="MANUAL_CLOSE",
            exit_price=Decimal(exit_price),
            exit_time=AT + timedelta(hours=hours),
            realized_pnl=Decimal(pnl),
        )
    PaperTrade.objects.create(**common)  # open: no day

    new = migrate([("ledger", "0028_book_days")])

    days = new.get_model("ledger", "BookDay").objects.order_by("day")
    assert [(row.day, row.trades, row.wins, row.realized_pnl) for row in days] == [
        (date(2026, 11, 20), 2, 1, Decimal("80")),  # 190 - 110, closed at 11:00 and 12:00 UTC
        (date(2026, 11, 21), 1, 1, Decimal("40")),  # 16:00 the next day
    ]
    assert days[0].r_total == Decimal("0.8")  # 1.9R - 1.1R


def test_the_one_account_becomes_the_default_book_holding_every_row():
    old = migrate([("ledger", "0025_order_history")])
    get = old.get_model
    get("ledger", "Account").objects.create(
        pk=1, realized_pnl_total=Decimal("39.95"), open_cost=Decimal("5005"), reserved=Decimal("7"), version=12
    )
    common = {"symbol": "BTCUSDT", "action": "BUY", "entry_price": Decimal("100"), "confidence": Decimal("0.5")}
    get("ledger", "Signal").objects.create(**common, signal_id="old", timestamp=AT, status="EXECUTED")
    get("ledger", "PaperTrade").objects.create(
        signal_id="old",
        symbol="BTCUSDT",
        direction="LONG",
        entry_price=Decimal("100"),
        position_size=Decimal("50"),
        stop_loss=Decimal("98"),
        take_profit=Decimal("104"),
        entry_time=AT,
        risk_amount=Decimal("100"),
        current_price=Decimal("100"),
        exit_quote=Decimal("100"),
        max_price=Decimal("100"),
        min_price=Decimal("100"),
    )
    get("ledger", "DayNote").objects.create(day=AT.date(), text="calm")
    get("ledger", "ApiToken").objects.create(name="bot", key_hash="1" * 64, prefix="pt_bot")
    Event = get("ledger", "Event")
    Event.objects.create(kind="trade.opened", trade_id=1, created_at=AT)
    Event.objects.create(kind="prices.applied", created_at=AT)

    new = migrate([("ledger", "0026_books")])

    book = new.get_model("ledger", "Book").objects.get()
    assert (book.slug, book.name, book.starting_balance, book.risk_per_trade) == ("default", "Default", None, None)
    assert (book.realized_pnl_total, book.open_cost, book.reserved, book.version) == (
        Decimal("39.95"),
        Decimal("5005"),
        Decimal("7"),
        12,
    )
    for name in ("Signal", "PaperTrade", "DayNote", "ApiToken"):
        assert list(new.get_model("ledger", name).objects.values_list("book_id", flat=True)) == [book.pk], name
    events = new.get_model("ledger", "Event").objects.order_by("pk").values_list("kind", "book_id")
    assert list(events) == [("trade.opened", book.pk), ("prices.applied", None)]  # prices are every book's
