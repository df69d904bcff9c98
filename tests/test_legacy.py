"""`import_legacy`: the old system's paper_trades table and JSON dumps, imported once and reconciled.

The example files are tests/fixtures/legacy (described in docs/legacy-import.md). All on 2026-11-20, fee 0.001:
  S2  LONG 50 BTCUSDT @ 100, open, marked 101 : fees 5 + 5.05 = 10.05, unrealized 50 - 10.05 = 39.95
  S3  SHORT 10 ETHUSDT @ 200, target 192      : 8*10 - (2 + 1.92) = 76.08 (recorded so)
  S4  LONG 20 LINKUSDT @ 50, stop 48.9        : -1.1*20 - (1 + 0.978) = -23.978 (not recorded)
  hand LONG 1000 DOGEUSDT @ 0.1, EOD at 0.3   : recorded 200 (the rules: 200 - (0.1 + 0.3) = 199.6)
  S6  LONG 40 SOLUSDT @ 50, open in the table, closed at its target 52 in the journal:
      2*40 - (2 + 2.08) = 75.92 (recorded so)
Realized total: 76.08 - 23.978 + 200 + 75.92 = 328.022
"""

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ledger import legacy, selectors, services
from ledger.errors import InvalidInput
from ledger.models import Book, BookDay, PaperTrade, Signal
from tests.helpers import book

from .conftest import assert_ledger_consistent, row_counts

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures" / "legacy"
DAY = date(2026, 11, 20)
TOTAL = Decimal("328.022")  # 76.08 - 23.978 + 200 + 75.92


@pytest.fixture
def old_db(tmp_path) -> Path:
    """The old SQLite database, built from the committed SQL text."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as old:
        old.executescript((FIXTURES / "paper_trades.sql").read_text())
    old.close()
    return path


def all_files(old_db: Path, **replace: Path) -> list[str]:
    files = {
        "live": FIXTURES / "live_signals.json",
        "archived": FIXTURES / "archived_signals.json",
        "active": FIXTURES / "active_paper_trades.json",
        "completed": FIXTURES / "completed_paper_trades.json",
        "journal": FIXTURES / "trading_journal.json",
    } | replace
    return [
        "--db",
        str(old_db),
        "--signals",
        str(files["live"]),
        "--signals",
        str(files["archived"]),
        "--trades",
        str(files["active"]),
        "--trades",
        str(files["completed"]),
        "--journal",
        str(files["journal"]),
    ]


def import_legacy(*args: str) -> str:
    out = StringIO()
    call_command("import_legacy", *args, stdout=out)
    return out.getvalue()


def trade_of(signal_id: str) -> PaperTrade:
    return PaperTrade.objects.get(signal_id=signal_id)


def statuses() -> dict[str, str]:
    return dict(Signal.objects.values_list("signal_id", "status"))


# --- The example files -------------------------------------------------------------------------------


def test_import_of_the_example_files_gives_exact_counts_and_states(old_db):
    import_legacy(*all_files(old_db))

    assert row_counts() == (6, 5)  # S1 to S6; the table's five trades, the dumps repeat them
    assert statuses() == {
        "S1": "GENERATED",
        "S2": "EXECUTED",
        "S3": "CLOSED",  # EXECUTED in live_signals, CLOSED in archived_signals
        "S4": "CLOSED",
        "S5": "EXPIRED",
        "S6": "CLOSED",  # its trade closed in the journal
    }
    assert list(PaperTrade.objects.order_by("entry_time").values_list("signal_id", "status")) == [
        ("S4", "STOP_LOSS"),
        ("S2", "OPEN"),
        ("S3", "TAKE_PROFIT"),
        ("S6", "TAKE_PROFIT"),
        (None, "EOD_CLOSE"),
    ]


def test_import_of_the_example_files_gives_exact_realized_pnl(old_db):
    import_legacy(*all_files(old_db))

    realized = dict(PaperTrade.objects.filter(realized_pnl__isnull=False).values_list("symbol", "realized_pnl"))
    assert realized == {
        "ETHUSDT": Decimal("76.08"),
        "LINKUSDT": Decimal("-23.978"),
        "DOGEUSDT": Decimal("200"),
        "SOLUSDT": Decimal("75.92"),
    }
    assert sum(realized.values()) == TOTAL


def test_report_counts_each_source(old_db):
    out = import_legacy(*all_files(old_db))

    assert "live_signals.json (signals): 4 read, 4 new, 0 advanced, 0 already in the ledger, realized pnl +0\n" in out
    assert (
        "archived_signals.json (signals): 3 read, 2 new, 1 advanced, 0 already in the ledger, realized pnl +0\n" in out
    )
    # 76.08 - 23.978 + 200 = 252.102
    assert (
        "old.sqlite (paper_trades): 5 read, 5 new, 0 advanced, 0 already in the ledger, realized pnl +252.10200000"
        in out
    )
    assert (
        "active_paper_trades.json (trades): 1 read, 0 new, 0 advanced, 1 already in the ledger, realized pnl +0\n"
        in out
    )
    assert (
        "completed_paper_trades.json (trades): 2 read, 0 new, 0 advanced, 2 already in the ledger, realized pnl +0\n"
        in out
    )
    assert (
        "trading_journal.json (journal): 2 read, 0 new, 1 advanced, 1 already in the ledger, realized pnl +75.92000000"
        in out
    )
    assert "Conflicts: 3" in out
    assert "Total: 11 new, 2 advanced, realized pnl +328.02200000 added to the account." in out


def test_open_trade_is_valued_by_the_rules_at_its_current_price(old_db):
    import_legacy(*all_files(old_db))

    s2 = trade_of("S2")
    assert (s2.current_price, s2.fees, s2.unrealized_pnl) == (Decimal("101"), Decimal("10.05"), Decimal("39.95"))
    assert (s2.exit_price, s2.exit_time, s2.realized_pnl) == (None, None, None)


def test_missing_realized_pnl_is_computed_by_the_rules(old_db):
    import_legacy(*all_files(old_db))

    s4 = trade_of("S4")
    assert s4.realized_pnl == Decimal("-23.978")  # -1.1*20 - (1 + 0.978)
    assert s4.fees == Decimal("1.978")
    assert s4.unrealized_pnl == 0


def test_recorded_pnl_is_kept_and_a_difference_over_a_cent_is_reported(old_db):
    out = import_legacy(*all_files(old_db))

    hand = PaperTrade.objects.get(signal__isnull=True)
    assert hand.realized_pnl == Decimal("200")  # as recorded, not the rules' 199.6
    assert "PnL differing from the rules by more than 0.01: 2" in out
    assert (
        "old.sqlite (paper_trades) row 4 (id 4): trade LONG DOGEUSDT entered 2026-11-20 13:00:00: "
        "realized_pnl recorded 200.00000000, the rules give 199.60000000: kept as recorded." in out
    )
    assert "trade of signal S2: unrealized_pnl recorded 50.00000000, the rules give 39.95000000" in out


def test_old_reals_become_exact_decimals_and_naive_times_utc(old_db):
    import_legacy(*all_files(old_db))

    hand = PaperTrade.objects.get(signal__isnull=True)
    assert (hand.entry_price, hand.stop_loss, hand.exit_price) == (Decimal("0.1"), Decimal("0.09"), Decimal("0.3"))
    assert hand.entry_time == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)  # '2026-11-20T13:00:00' taken as UTC
    assert hand.created_date == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)  # the old created_date, kept
    assert trade_of("S4").exit_time == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # 12:00+02:00


def test_float_goes_through_its_shortest_repr_never_float_arithmetic():
    assert legacy.to_decimal(0.1, field="x") == Decimal("0.1")  # not 0.1000000000000000055511151231257827...
    assert legacy.to_money(0.1 + 0.2, field="x") == Decimal("0.3")  # repr 0.30000000000000004, 8 places
    assert legacy.to_decimal(1e-05, field="x") == Decimal("0.00001")


def test_times_without_offset_are_utc_and_others_converted():
    assert legacy.to_time("2026-11-20 09:31:00", field="t") == datetime(2026, 11, 20, 9, 31, tzinfo=UTC)
    assert legacy.to_time("2026-11-20T09:31:00-05:00", field="t") == datetime(2026, 11, 20, 14, 31, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="ISO 8601"):
        legacy.to_time(1763630000, field="t")


def test_old_statuses_map_to_the_new_ones():
    assert legacy.to_choice(legacy.TRADE_STATUSES, "closed", field="status") == "MANUAL_CLOSE"
    assert legacy.to_choice(legacy.TRADE_STATUSES, "EOD_CLOSE", field="status") == "EOD_CLOSE"
    assert legacy.to_choice(legacy.DIRECTIONS, "buy", field="direction") == "LONG"
    with pytest.raises(InvalidInput, match="status must be one of"):
        legacy.to_choice(legacy.SIGNAL_STATUSES, "ACTIVE", field="status")


# --- Idempotence and dry run ---------------------------------------------------------------------------


def test_second_run_imports_nothing(old_db):
    import_legacy(*all_files(old_db))
    before = list(PaperTrade.objects.order_by("pk").values()), statuses(), book().realized_pnl_total

    out = import_legacy(*all_files(old_db))

    after = list(PaperTrade.objects.order_by("pk").values()), statuses(), book().realized_pnl_total
    assert after == before
    assert row_counts() == (6, 5)
    assert "Total: 0 new, 0 advanced, realized pnl +0 added to the account." in out


def test_dry_run_reports_what_it_would_do_and_writes_nothing(old_db):
    out = import_legacy(*all_files(old_db), "--dry-run")

    assert row_counts() == (0, 0)
    assert not Book.objects.filter(version__gt=0).exists()  # no book was written to
    assert out.startswith("Dry run: nothing is written.")
    assert "Total: 11 would be new, 2 advanced, realized pnl +328.02200000 would be added to the account." in out


# --- A bad row -----------------------------------------------------------------------------------------


@pytest.fixture
def bad_journal(tmp_path) -> Path:
    """The example journal with a negative exit price in row 2; row 1 (S6's close) is good."""
    path = tmp_path / "trading_journal.json"
    path.write_text(
        (FIXTURES / "trading_journal.json").read_text().replace('"exit_price": 191.0', '"exit_price": -191.0')
    )
    return path


def test_bad_row_rolls_back_its_file_and_only_its_file(old_db, bad_journal):
    with pytest.raises(CommandError, match="1 of 6 files could not be imported"):
        import_legacy(*all_files(old_db, journal=bad_journal))

    assert trade_of("S6").status == "OPEN"  # row 1 of the journal would have closed it: rolled back
    assert statuses()["S6"] == "EXECUTED"
    assert row_counts() == (6, 5)  # the other files are in
    assert book().realized_pnl_total == Decimal("252.102")  # 76.08 - 23.978 + 200, the table's


def test_bad_row_is_named_with_its_number_and_reason(old_db, bad_journal):
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("import_legacy", *all_files(old_db, journal=bad_journal), stdout=out)

    assert "trading_journal.json (journal): FAILED, nothing of it was written." in out.getvalue()
    assert (
        "Error: trading_journal.json (journal) row 2: "
        "exit_price must be from 0.00000001 to below 100,000,000,000, not -191.0." in out.getvalue()
    )


def test_trade_naming_an_unknown_signal_stops_its_file(old_db):
    with pytest.raises(CommandError):
        import_legacy("--db", str(old_db))  # no signals files: S2 is unknown

    assert row_counts() == (0, 0)


def test_unreadable_database_exits_non_zero_with_a_sentence(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "import_legacy", "--db", str(tmp_path / "missing.sqlite")],
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": ""},
    )

    assert done.returncode != 0
    assert "missing.sqlite (paper_trades): cannot read the paper_trades table" in done.stdout
    assert "1 of 1 files could not be imported" in done.stderr


def test_command_without_files_is_refused():
    with pytest.raises(CommandError, match="Name at least one file"):
        import_legacy()


# --- Conflicts -----------------------------------------------------------------------------------------


def test_same_signal_with_two_statuses_keeps_the_most_advanced(old_db):
    out = import_legacy(*all_files(old_db))

    assert Signal.objects.get(signal_id="S3").status == "CLOSED"
    assert (
        "archived_signals.json (signals) row 1: signal S3: EXECUTED in the ledger, CLOSED here: "
        "set to CLOSED, the most advanced." in out
    )


def test_a_less_advanced_status_never_moves_a_signal_back():
    archived, live = FIXTURES / "archived_signals.json", FIXTURES / "live_signals.json"
    out = import_legacy("--signals", str(archived), "--signals", str(live))  # CLOSED first, then EXECUTED

    assert Signal.objects.get(signal_id="S3").status == "CLOSED"
    assert "live_signals.json (signals) row 3: signal S3: CLOSED in the ledger, EXECUTED here: kept CLOSED" in out


def test_journal_exit_differing_from_the_table_keeps_the_table(old_db):
    out = import_legacy(*all_files(old_db))

    s3 = trade_of("S3")
    assert (s3.exit_price, s3.realized_pnl) == (Decimal("192"), Decimal("76.08"))
    assert (
        "trading_journal.json (journal) row 2: trade of signal S3: exit_price 192.00000000, realized_pnl 76.08000000 "
        "in the ledger, exit_price 191.00000000, realized_pnl 86.00000000 here: kept the ledger's, imported first."
        in out
    )


def test_journal_close_of_a_trade_open_in_the_table_closes_it(old_db):
    out = import_legacy(*all_files(old_db))

    s6 = trade_of("S6")
    assert (s6.status, s6.exit_price, s6.exit_time) == (
        "TAKE_PROFIT",
        Decimal("52"),
        datetime(2026, 11, 20, 15, tzinfo=UTC),
    )
    assert (s6.realized_pnl, s6.unrealized_pnl, s6.fees) == (Decimal("75.92"), 0, Decimal("4.08"))  # fees 2 + 2.08
    assert "trade of signal S6: OPEN in the ledger, TAKE_PROFIT at 52.00000000 here: closed, the most advanced." in out


def test_open_version_never_reopens_a_closed_trade(old_db):
    import_legacy(*all_files(old_db))
    services.trade_close(trade_id=trade_of("S2").pk, price=Decimal("103"), at=datetime(2026, 11, 20, 16, tzinfo=UTC))

    out = import_legacy("--trades", str(FIXTURES / "active_paper_trades.json"))

    assert trade_of("S2").status == "MANUAL_CLOSE"
    assert "MANUAL_CLOSE in the ledger, OPEN here: kept MANUAL_CLOSE, a closed trade never reopens." in out


# --- What the rest of the ledger sees ------------------------------------------------------------------


def test_imported_trades_appear_in_the_journal_of_their_day(old_db):
    import_legacy(*all_files(old_db))

    journal = selectors.journal_for_day(book(), DAY)
    assert {t.symbol: t.realized_pnl for t in journal} == {
        "LINKUSDT": Decimal("-23.978"),
        "ETHUSDT": Decimal("76.08"),
        "SOLUSDT": Decimal("75.92"),
        "DOGEUSDT": Decimal("200"),  # closed at 23:59:59 without an offset: UTC, so still the 20th
    }
    assert not selectors.journal_for_day(book(), date(2026, 11, 21)).exists()


def test_imported_trades_count_in_the_daily_pnl(old_db):
    import_legacy(*all_files(old_db))

    daily = selectors.pnl_daily(book(), DAY)
    assert (daily.realized_pnl, daily.trades, daily.wins) == (TOTAL, 4, 3)  # 328.022; only S4 lost


def test_account_total_equals_the_sum_of_realized_pnl(old_db, open_trade):
    earlier = open_trade(symbol="ADAUSDT")  # a trade of this ledger before the import
    services.trade_close(trade_id=earlier.pk, price=Decimal("101"))  # 50 - (5 + 5.05) = 39.95

    import_legacy(*all_files(old_db))

    assert book().realized_pnl_total == Decimal("367.972")  # 39.95 + 328.022
    assert book().balance == Decimal("10367.972")
    assert_ledger_consistent()  # the total is the sum of realized PnL, and signals agree with their trades


# --- The model's rules on exits --------------------------------------------------------------------------


def hand_trade(**fields) -> dict:
    return {
        "symbol": "BTCUSDT",
        "direction": "LONG",
        "entry_price": 100.0,
        "position_size": 1.0,
        "stop_loss": 98.0,
        "take_profit": 104.0,
        "entry_time": "2026-11-20T09:00:00Z",
    } | fields


def test_closed_trade_without_exit_time_is_a_bad_row(tmp_path):
    trades = tmp_path / "completed.json"
    trades.write_text(json.dumps([hand_trade(status="TAKE_PROFIT", exit_price=104.0)]))

    out = StringIO()

    with pytest.raises(CommandError):
        call_command("import_legacy", "--trades", str(trades), stdout=out)

    assert "completed.json (trades) row 1: exit_time is required." in out.getvalue()
    assert row_counts() == (0, 0)


def test_open_trade_with_an_exit_is_a_bad_row(tmp_path):
    trades = tmp_path / "active.json"
    trades.write_text(
        json.dumps([hand_trade(status="OPEN", realized_pnl=0.0), hand_trade(status="OPEN", exit_price=103.5)])
    )

    out = StringIO()

    with pytest.raises(CommandError):
        call_command("import_legacy", "--trades", str(trades), stdout=out)

    assert "active.json (trades) row 2: an OPEN trade has no exit, but this one has exit_price 103.5." in out.getvalue()
    assert row_counts() == (0, 0)  # row 1 (0.0 meaning "none yet" in the old system) is rolled back with it


def test_a_nul_byte_in_an_expiry_reason_is_removed_and_reported_with_its_row(tmp_path):
    signals = tmp_path / "signals.json"
    expired = {"signal_id": "S9", "crypto": "BTCUSDT", "action": "BUY", "entry_price": 100.0, "confidence": 0.5}
    expired |= {"timestamp": "2026-11-20T09:00:00Z", "status": "EXPIRED", "status_reason": "Stale\u0000price\n"}
    signals.write_text(json.dumps([expired]))

    out = import_legacy("--signals", str(signals))

    assert Signal.objects.get(signal_id="S9").status_reason == "Stale price"  # as PostgreSQL can store it
    assert (
        "signals.json (signals) row 1: signal S9: status_reason held control characters: imported as 'Stale price'."
        in out
    )


def test_the_imported_closes_are_counted_in_their_days(old_db):
    import_legacy(*all_files(old_db))

    assert sum(BookDay.objects.values_list("realized_pnl", flat=True)) == TOTAL
    assert sum(BookDay.objects.values_list("trades", flat=True)) == 4  # the four closed of the five
    assert selectors.day_violations(book()) == []


# --- Into a chosen book (docs/books.md, "Commands") --------------------------------------------------------------


def test_import_into_a_book_puts_every_signal_and_trade_in_it_and_its_totals_there(old_db):
    into = services.book_create(slug="old-system", balance=Decimal("5000"))

    import_legacy(*all_files(old_db), "--book", "old-system")

    assert set(Signal.objects.values_list("book__slug", flat=True)) == {"old-system"}
    assert set(PaperTrade.objects.values_list("book__slug", flat=True)) == {"old-system"}  # the hand trade too
    into.refresh_from_db()
    assert into.realized_pnl_total == TOTAL
    assert book().realized_pnl_total == 0  # the default book is untouched
    # The book's totals agree with its trades; only the hand trade's recorded 200 is not the rules' 199.6 (kept).
    assert [violation.kind for violation in selectors.ledger_violations(into)] == ["realized-pnl"]


def test_import_into_a_book_values_its_trades_by_that_book_s_fee_rate(old_db):
    services.book_create(slug="no-fees", fee_rate=Decimal("0"))

    import_legacy(*all_files(old_db), "--book", "no-fees")

    s2 = trade_of("S2")  # LONG 50 BTCUSDT at 100 marked 101, no fee: unrealized 50
    assert (s2.fees, s2.unrealized_pnl) == (Decimal("0"), Decimal("50"))


def test_import_into_an_unknown_book_is_refused_before_anything_is_read(old_db):
    services.default_book()

    with pytest.raises(CommandError, match="No book 'nope'; the books are: default."):
        import_legacy(*all_files(old_db), "--book", "nope")

    assert row_counts() == (0, 0)


def test_a_signal_of_another_book_stops_its_file(old_db):
    services.book_create(slug="other")
    import_legacy("--signals", str(FIXTURES / "live_signals.json"))  # into the default book

    with pytest.raises(CommandError, match="1 of 1 files could not be imported"):
        import_legacy("--signals", str(FIXTURES / "live_signals.json"), "--book", "other")

    assert not Signal.objects.filter(book__slug="other").exists()
