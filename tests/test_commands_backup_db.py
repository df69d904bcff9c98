"""backup_db: a consistent copy of the live SQLite database that restores to the same ledger."""

import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger import services

from .conftest import T0

pytestmark = pytest.mark.django_db(transaction=True)  # the copy is read by other connections: rows must be committed
sqlite_only = pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres')", reason="SQLite's backup")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def ledger_rows(open_trade, make_signal):
    """An open trade, a closed one (realized (102 - 100) * 50 - (5 + 5.1) = 89.9) and a GENERATED signal."""
    open_trade(symbol="ETHUSDT")
    closed = open_trade()
    services.trade_close(trade_id=closed.pk, price=Decimal("102"), at=T0 + timedelta(minutes=5))
    make_signal(symbol="SOLUSDT")


def rows_of(path: Path) -> tuple[list, list]:
    with sqlite3.connect(path) as db:
        signals = db.execute("SELECT signal_id, status FROM signals ORDER BY signal_id").fetchall()
        trades = db.execute("SELECT id, status, realized_pnl FROM paper_trades ORDER BY id").fetchall()
    return signals, trades


@sqlite_only
def test_a_restored_backup_holds_the_same_ledger(ledger_rows, tmp_path, capsys):
    copy = tmp_path / "ledger.sqlite3"

    call_command("backup_db", output=str(copy))

    assert capsys.readouterr().out.startswith(f"Backed up 3 signals and 2 trades to {copy}")
    assert rows_of(copy) == rows_of(Path(connection.settings_dict["NAME"]))
    restored = subprocess.run(  # the application itself, pointed at the copy, reads a consistent ledger
        [sys.executable, "manage.py", "check_ledger"],
        cwd=ROOT,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": f"sqlite:///{copy}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (restored.returncode, restored.stdout.strip()) == (0, "ledger consistent")


@sqlite_only
def test_a_backup_taken_during_a_write_holds_only_what_was_committed(ledger_rows, tmp_path):
    writer = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a transaction holds the write lock
    writer.execute("UPDATE signals SET status = 'EXPIRED' WHERE status = 'GENERATED'")
    try:
        call_command("backup_db", output=str(tmp_path / "copy.sqlite3"))
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    statuses = {status for _, status in rows_of(tmp_path / "copy.sqlite3")[0]}
    assert statuses == {"EXECUTED", "CLOSED", "GENERATED"}


@sqlite_only
def test_a_backup_into_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(CommandError, match="does not exist; create it first"):
        call_command("backup_db", output=str(tmp_path / "nowhere" / "copy.sqlite3"))


@sqlite_only
def test_a_backup_onto_the_live_database_is_refused():
    with pytest.raises(CommandError, match="is the live database itself"):
        call_command("backup_db", output=connection.settings_dict["NAME"])


@pytest.mark.skipif("not os.environ.get('DATABASE_URL', '').startswith('postgres')", reason="PostgreSQL's refusal")
def test_on_postgresql_the_command_points_at_pg_dump(tmp_path):
    with pytest.raises(CommandError, match="pg_dump"):
        call_command("backup_db", output=str(tmp_path / "copy.sqlite3"))

    assert not (tmp_path / "copy.sqlite3").exists()
