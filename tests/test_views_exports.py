"""CSV exports of the journal and the signals: the columns, the round trip through csv, and streaming."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext

from ledger import services
from ledger.inputs import Tick
from ledger.models import PaperTrade

from .conftest import T0, closed_trade_row
from .helpers import read_csv

pytestmark = pytest.mark.django_db


def test_journal_round_trips_through_csv_with_iso_times_and_exact_decimals(viewer_client, open_trade):
    trade = open_trade(signal_id="sig-csv", symbol="ETHUSDT")  # BUY at 100: size 50, entry fee 5
    services.trade_close(trade_id=trade.pk, price=Decimal("102.5"), at=T0 + timedelta(hours=1, minutes=30))

    response = viewer_client.get("/export/journal.csv", {"start": "2026-11-20", "end": "2026-11-20"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="journal-2026-11-20-to-2026-11-20.csv"'
    [row] = read_csv(response)
    assert row == {
        "closed_at": "2026-11-20T11:30:00+00:00",
        "symbol": "ETHUSDT",
        "side": "LONG",
        "entry_price": "100.00000000",
        "exit_price": "102.50000000",
        "reason": "MANUAL_CLOSE",
        "size": "50.00000000",
        "fees": "10.12500000",  # 5 + 0.001 * 102.5 * 50 = 5 + 5.125
        "realized_pnl": "114.87500000",  # 2.5 * 50 - 10.125
        "held_seconds": "5340",  # opened 10:01, closed 11:30: 89 minutes
        "trade_id": str(trade.pk),
        "signal_id": "sig-csv",
        "opened_at": "2026-11-20T10:01:00+00:00",
        "stop_loss": "98.00000000",
        "take_profit": "104.00000000",
        "risk_amount": "100.00000000",
        "mfe": "125.00000000",  # it saw 100 and 102.5: (102.5 - 100) * 50
        "mae": "0.00000000",
        "mfe_r": "1.2500",  # 125 / 100
        "mae_r": "0.0000",
        "r_multiple": "1.1488",  # 114.875 / 100, to 4 places as the API
        "tags": "[]",
        "notes": "",
    }


def test_journal_lists_the_periods_closes_oldest_first(viewer_client):
    PaperTrade.objects.bulk_create(
        closed_trade_row(exit_time=T0 + timedelta(days=d), realized_pnl=Decimal(d), symbol=f"S{d}")
        for d in (2, -1, 0, 1, 3)
    )

    rows = read_csv(viewer_client.get("/export/journal.csv", {"start": "2026-11-20", "end": "2026-11-22"}))

    assert [row["symbol"] for row in rows] == ["S0", "S1", "S2"]  # the 19th and the 23rd are outside


def test_tags_and_notes_are_exported_as_a_json_list_and_text(viewer_client, open_trade):
    trade = open_trade()
    services.trade_annotate(trade_id=trade.pk, notes='Line one, "quoted".\nLine two.', tags=["A+ setup", "news"])
    services.trade_close(trade_id=trade.pk, price=Decimal("99"), at=T0 + timedelta(hours=1))

    [row] = read_csv(viewer_client.get("/export/journal.csv", {"period": "all"}))

    assert (json.loads(row["tags"]), row["notes"]) == (["A+ setup", "news"], 'Line one, "quoted".\nLine two.')
    assert row["r_multiple"] == "-0.5995"  # (-1 * 50 - 9.95) / 100


def test_a_tiny_decimal_is_written_plainly(viewer_client):
    PaperTrade.objects.bulk_create([closed_trade_row(exit_time=T0, realized_pnl=Decimal("0.00000001"))])

    [row] = read_csv(viewer_client.get("/export/journal.csv", {"period": "all"}))

    assert row["realized_pnl"] == "0.00000001"  # not 1E-8


def test_signals_round_trip_through_csv(viewer_client, make_signal, open_trade):
    make_signal(signal_id="sig-a", confluences=["trend", 'say "hi", ok'], stop_loss=Decimal("95"))
    executed = open_trade(signal_id="sig-b", action="SELL", timestamp=T0 + timedelta(minutes=5))

    rows = read_csv(viewer_client.get("/export/signals.csv", {"start": "2026-11-20", "end": "2026-11-20"}))

    assert [(r["signal_id"], r["time"], r["action"], r["status"], r["trade_id"]) for r in rows] == [
        ("sig-a", "2026-11-20T10:00:00+00:00", "BUY", "GENERATED", ""),
        ("sig-b", "2026-11-20T10:05:00+00:00", "SELL", "EXECUTED", str(executed.pk)),
    ]
    assert json.loads(rows[0]["confluences"]) == ["trend", 'say "hi", ok']  # commas and quotes survive
    assert (rows[0]["price"], rows[0]["confidence"], rows[0]["stop_loss"], rows[0]["take_profit"]) == (
        "100.00000000",
        "0.8000",
        "95.00000000",
        "",
    )


def test_a_bad_period_is_refused_with_the_reason(viewer_client):
    response = viewer_client.get("/export/journal.csv", {"start": "2026-11-31", "end": "2026-12-01"})

    assert response.status_code == 400
    assert response.content.decode() == "start: Enter a day as 25 Nov 2026 or 2026-11-25."


def test_the_export_streams_in_the_same_few_queries_however_many_rows(viewer_client):
    """Rows come from one cursor, a chunk at a time, while the body is written. Its memory at a million rows
    is measured by `make bench` (bench/README.md)."""

    def export() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = viewer_client.get("/export/journal.csv", {"period": "all"})
            assert isinstance(response, StreamingHttpResponse)
            lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
        return lines, len(queries)

    def closes(first: int, last: int) -> None:
        PaperTrade.objects.bulk_create(
            closed_trade_row(exit_time=T0 + timedelta(seconds=i), realized_pnl=Decimal(i)) for i in range(first, last)
        )

    closes(0, 10)
    few_lines, few_queries = export()
    closes(10, 5000)  # two and a half chunks of 2000
    many_lines, many_queries = export()

    assert (few_lines, many_lines) == (11, 5001)  # the header and every trade
    assert many_queries == few_queries


def test_under_an_asgi_server_the_export_is_handed_over_a_chunk_at_a_time(viewer):
    """Django reads a synchronous iterator whole before an ASGI server sends any of it: the export hands its lines
    over CHUNK at a time instead (AsyncClient's requests are the ASGI server's)."""
    PaperTrade.objects.bulk_create(
        closed_trade_row(exit_time=T0 + timedelta(seconds=i), realized_pnl=Decimal(i)) for i in range(4500)
    )

    async def download() -> list[bytes]:
        client = AsyncClient()
        await client.aforce_login(viewer)
        response = await client.get("/export/journal.csv", {"period": "all"})
        assert response.is_async
        return [chunk async for chunk in response.streaming_content]

    chunks = async_to_sync(download)()

    assert [chunk.count(b"\n") for chunk in chunks] == [2000, 2000, 501]  # the header and 4,500 trades


def test_the_dashboards_journal_links_to_its_days_export(viewer_client):
    html = viewer_client.get("/day/2026-11-20/").content.decode()

    assert 'href="/export/journal.csv?start=2026-11-20&amp;end=2026-11-20"' in html


# --- Safe for spreadsheets (OWASP "CSV Injection") ---------------------------------------------------------


@pytest.mark.parametrize(
    "reason",
    [
        '=HYPERLINK("http://evil.example","x")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "-2+3",
        "\tx",
        "\rx",
    ],
)
def test_a_text_cell_that_a_spreadsheet_would_run_is_shown_as_text(viewer_client, make_signal, reason):
    signal = make_signal()
    services.signal_expire(signal_id=signal.signal_id, reason=reason)

    [row] = read_csv(viewer_client.get("/export/signals.csv", {"period": "all"}))

    assert row["status_reason"] == "'" + reason


@pytest.mark.parametrize("signal_id", ["-1", "@x"])
def test_a_signal_id_starting_with_a_formula_sign_is_neutralised_in_both_exports(viewer_client, open_trade, signal_id):
    trade = open_trade(signal_id=signal_id)
    services.trade_close(trade_id=trade.pk, price=Decimal("99"), at=T0 + timedelta(hours=1))

    [signal] = read_csv(viewer_client.get("/export/signals.csv", {"period": "all"}))
    [journal] = read_csv(viewer_client.get("/export/journal.csv", {"period": "all"}))

    assert signal["signal_id"] == journal["signal_id"] == "'" + signal_id
    assert journal["realized_pnl"] == "-59.95000000"  # a number keeps its minus: -1 * 50 - (5 + 4.95)


def test_the_journal_s_excursions_are_the_rule_s_to_the_last_place(viewer_client, open_trade, many_trades):
    """The export computes MFE and MAE in SQL; they must be rules.excursions' numbers on either database."""
    paths = {
        "BTCUSDT": ("BUY", ["100.13", "97.07", "101.99"]),
        "ETHUSDT": ("SELL", ["100.33333333", "98.7", "101.1"]),
        "SOLUSDT": ("BUY", ["99.99999999", "100.00000001"]),
    }
    for symbol, (action, prices) in paths.items():
        trade = open_trade(
            symbol=symbol,
            action=action,
            stop_loss=Decimal(90 if action == "BUY" else 110),
            take_profit=Decimal(110 if action == "BUY" else 90),
        )
        services.prices_apply(
            ticks=[Tick(symbol, Decimal(p), T0 + timedelta(minutes=2, seconds=n)) for n, p in enumerate(prices)]
        )
        services.trade_close(trade_id=trade.pk, at=T0 + timedelta(minutes=3))

    rows = read_csv(viewer_client.get("/export/journal.csv", {"start": "2026-11-20", "end": "2026-11-20"}))

    expected = {t.symbol: t.excursions for t in PaperTrade.objects.all()}
    assert {row["symbol"]: [Decimal(row[k]) for k in ("mfe", "mae", "mfe_r", "mae_r")] for row in rows} == {
        symbol: [e.favourable, e.adverse, e.favourable_r, e.adverse_r] for symbol, e in expected.items()
    }
    # By hand, the LONG on BTCUSDT: size 10 (risk 100 / stop distance 10); high 101.99, low 97.07
    best = expected["BTCUSDT"]
    assert (best.favourable, best.adverse, best.favourable_r, best.adverse_r) == (
        Decimal("19.9"),
        Decimal("-29.3"),
        Decimal("0.199"),
        Decimal("-0.293"),
    )
