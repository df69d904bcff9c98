"""Replays on the database (ledger/services/replays.py, ledger/selectors/replays.py): a day of the live ledger
made through the real services, replayed with its own rules and with other ones; numbers worked by hand."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger import replay as engine
from ledger import selectors, services
from ledger.errors import InvalidInput, InvalidTransition
from ledger.inputs import SignalFields, Tick
from ledger.models import Book, PaperTrade, PriceCandle, Replay, Signal

from .test_races import race

DAY = date(2026, 11, 20)
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT"]


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 20, hour, minute, second, tzinfo=UTC)


def ticks(*rows: tuple) -> None:
    services.prices_apply(ticks=[Tick(symbol=s, price=Decimal(p), at=when) for s, p, when in rows])


@pytest.fixture
def live_day(settings):
    """The live ledger's day: five signals at 100 (BUY, XRPUSDT SELL), no levels of their own, taken at 10:00:30
    from the ticks of 09:59:50; risk 0.1 % of 10,000 = 10 a trade, stop 2 % (98; XRP 102), target 2R (104; XRP
    96), size 10 / 2 = 5; then ticks in one minute each (opening at 100), BTC down to its stop at 10:40 and ETH
    up to its target at 10:45, and the end of day."""
    settings.PAPER_RISK_PER_TRADE = Decimal("0.001")
    ticks(*((symbol, "100", at(9, 59, 50)) for symbol in SYMBOLS))
    for symbol in SYMBOLS:
        action = "SELL" if symbol == "XRPUSDT" else "BUY"
        fields = SignalFields(
            signal_id=f"s-{symbol}",
            symbol=symbol,
            action=action,
            entry_price=Decimal(100),
            confidence=Decimal("0.8"),
            timestamp=at(10, 0, 30),
            confluences=["trend"] if symbol != "ADAUSDT" else ["range"],
        )
        services.signal_record(signal=fields)
        services.signal_execute(signal_id=fields.signal_id, at=at(10, 0, 30))
    ticks(("BTCUSDT", "100", at(10, 5, 5)), ("BTCUSDT", "98.9", at(10, 5, 10)), ("BTCUSDT", "99.5", at(10, 5, 40)))
    ticks(("ETHUSDT", "100", at(10, 10, 5)), ("ETHUSDT", "102.5", at(10, 10, 10)), ("ETHUSDT", "102", at(10, 10, 40)))
    ticks(
        ("SOLUSDT", "100", at(10, 20, 5)),
        ("SOLUSDT", "98.5", at(10, 20, 10)),
        ("SOLUSDT", "102.5", at(10, 20, 40)),
        ("SOLUSDT", "100", at(10, 20, 50)),
    )
    ticks(("XRPUSDT", "100", at(10, 30, 5)), ("XRPUSDT", "101.2", at(10, 30, 10)), ("XRPUSDT", "101", at(10, 30, 40)))
    ticks(("BTCUSDT", "98", at(10, 40, 10)))
    ticks(("ETHUSDT", "104", at(10, 45, 10)))
    ticks(("ADAUSDT", "100.2", at(11, 0, 10)), ("ADAUSDT", "100.8", at(11, 0, 30)), ("ADAUSDT", "100.5", at(11, 0, 50)))
    services.day_close(day=DAY)


def run(**parameters) -> Replay:
    queued = services.replay_queue(parameters={"start": "2026-11-20", "end": "2026-11-20"} | parameters)
    services.replay_claim(replay_id=queued.pk)
    return services.replay_run(replay_id=queued.pk)


def outcomes(done: Replay) -> dict[str, tuple[str, str | None, str]]:
    return {t["signal_id"]: (t["exit_reason"], t["exit_price"], t["pnl"]) for t in done.result["trades"]}


@pytest.mark.django_db
def test_the_ledgers_own_rules_reproduce_its_trades(live_day):
    done = run()
    live = {
        trade.signal_id: (trade.status, str(trade.exit_price), str(trade.realized_pnl))
        for trade in PaperTrade.objects.all()
    }
    assert live == {
        "s-BTCUSDT": ("STOP_LOSS", "98.00000000", "-10.99000000"),  # -2 * 5 - 0.5 - 0.49
        "s-ETHUSDT": ("TAKE_PROFIT", "104.00000000", "18.98000000"),  # 4 * 5 - 0.5 - 0.52
        "s-SOLUSDT": ("EOD_CLOSE", "100.00000000", "-1.00000000"),  # 0 - 0.5 - 0.5
        "s-XRPUSDT": ("EOD_CLOSE", "101.00000000", "-6.00500000"),  # -1 * 5 - 0.5 - 0.505
        "s-ADAUSDT": ("EOD_CLOSE", "100.50000000", "1.49750000"),  # 0.5 * 5 - 0.5 - 0.5025
    }
    assert done.status == Replay.Status.DONE
    assert outcomes(done) == live
    assert done.result["differences"] == []
    entries = {t["signal_id"]: (t["entry_price"], t["size"]) for t in done.result["trades"]}
    assert set(entries.values()) == {("100.00000000", "5.00000000")}
    mine, theirs = done.summary["replay"], done.summary["actual"]
    assert mine["realized_pnl"] == theirs["realized_pnl"] == "2.48250000"  # -10.99 + 18.98 - 1 - 6.005 + 1.4975
    # the same equity after each close; the replay's closes are stamped with their minute, the ledger's with the tick
    assert [point[1] for point in mine["curve"]] == [point[1] for point in theirs["curve"]]


@pytest.mark.django_db
def test_five_signals_with_a_one_percent_stop_give_the_trades_worked_by_hand(live_day):
    # stop 99 (XRP 101), target 2R 102 (XRP 98), size 10 / 1 = 10; fees 0.1 % a side (1 at entry).
    done = run(rules={"stop_pct": "0.01"})
    assert outcomes(done) == {
        "s-BTCUSDT": ("STOP_LOSS", "99.00000000", "-11.99000000"),  # -1 * 10 - 1 - 0.99, at 10:05 (low 98.9)
        "s-ETHUSDT": ("TAKE_PROFIT", "102.00000000", "17.98000000"),  # 2 * 10 - 1 - 1.02, at 10:10 (high 102.5)
        "s-SOLUSDT": ("STOP_LOSS", "99.00000000", "-11.99000000"),  # 10:20 reached both: the stop first
        "s-XRPUSDT": ("STOP_LOSS", "101.00000000", "-12.01000000"),  # -1 * 10 - 1 - 1.01, at 10:30 (high 101.2)
        "s-ADAUSDT": ("EOD_CLOSE", "100.50000000", "2.99500000"),  # 0.5 * 10 - 1 - 1.005
    }
    sol = next(t for t in done.result["trades"] if t["signal_id"] == "s-SOLUSDT")
    assert (sol["path_dependent"], sol["best_exit_reason"], sol["best_pnl"]) == (True, "TAKE_PROFIT", "17.98000000")
    summary = done.summary["replay"]
    # -11.99 + 17.98 - 11.99 - 12.01 + 2.995 = -15.015; with SOL's target instead: 14.955
    assert (summary["worst_pnl"], summary["best_pnl"], summary["path_dependent"]) == ("-15.01500000", "14.95500000", 1)
    changed = {d["signal_id"]: d["cause"] for d in done.result["differences"] if d["changed"]}
    assert set(changed) == {"s-SOLUSDT", "s-XRPUSDT"}  # EOD in the ledger, stopped in the replay
    assert "both inside one minute" in changed["s-SOLUSDT"]
    assert changed["s-XRPUSDT"] == "the replay's rules: its stop, 101 stop and 98 target"


@pytest.mark.django_db
def test_a_stop_crossed_inside_a_minute_is_listed_with_its_cause(live_day):
    PaperTrade.objects.filter(signal_id="s-BTCUSDT").update(exit_price=Decimal("97.9"))  # as if a tick gapped past
    done = run()
    [difference] = done.result["differences"]
    assert (difference["signal_id"], difference["fields"]) == ("s-BTCUSDT", ["exit_price"])
    assert "the stop was crossed inside a minute" in difference["cause"]


@pytest.mark.django_db
def test_filters_take_only_the_signals_asked_for(live_day):
    assert set(outcomes(run(symbols="BTCUSDT,ETHUSDT"))) == {"s-BTCUSDT", "s-ETHUSDT"}
    assert set(outcomes(run(confluences=["range"]))) == {"s-ADAUSDT"}


@pytest.mark.django_db
def test_a_replay_writes_nothing_to_signals_trades_or_the_account(live_day):
    def ledger() -> list:
        return [
            list(Signal.objects.order_by("pk").values()),
            list(Signal.history.order_by("pk").values()),
            list(PaperTrade.objects.order_by("pk").values()),
            list(PaperTrade.history.order_by("pk").values()),
            list(Book.objects.values()),
        ]

    before = ledger()
    assert run(rules={"stop_pct": "0.01", "risk": "0.002"}).status == Replay.Status.DONE
    assert ledger() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"end": "2026-11-19"}, "end"),
        ({"start": "20-11-2026"}, "start"),
        ({"rules": {"stop_pct": "1.5"}}, "rules.stop_pct"),
        ({"rules": {"risk": "a lot"}}, "rules.risk"),
        ({"symbols": "BTC USDT!"}, "symbols"),
        ({"include_refused": "yes"}, "include_refused"),
        ({"book": "main"}, "book"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field_and_nothing_is_queued(parameters, field):
    with pytest.raises(InvalidInput) as refused:
        services.replay_queue(parameters={"start": "2026-11-20", "end": "2026-11-20"} | parameters)
    assert refused.value.field == field
    assert not Replay.objects.exists()


@pytest.mark.django_db
def test_a_cancel_while_running_stops_the_replay_and_stays_cancelled(live_day, monkeypatch):
    queued = services.replay_queue(parameters={"start": "2026-11-20", "end": "2026-11-20"})
    services.replay_claim(replay_id=queued.pk)
    run_engine, reports = engine.run, []

    def cancelled_at_the_first_report(**arguments):
        def report(minute):
            services.replay_cancel(replay_id=queued.pk)  # the trader presses Cancel while it runs
            reports.append(minute)
            arguments["progress"](minute)

        return run_engine(**arguments | {"progress": report, "every": 1})

    monkeypatch.setattr(engine, "run", cancelled_at_the_first_report)
    done = services.replay_run(replay_id=queued.pk)
    assert (done.status, done.summary, done.result) == (Replay.Status.CANCELLED, None, None)
    assert len(reports) == 1  # it stopped at the report after the cancel


@pytest.mark.django_db
def test_a_finished_replay_cannot_be_cancelled(live_day):
    done = run()
    with pytest.raises(InvalidTransition):
        services.replay_cancel(replay_id=done.pk)
    done.refresh_from_db()
    assert done.status == Replay.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_once_take_each_replay_once():
    first = services.replay_queue(parameters={"start": "2026-11-20", "end": "2026-11-20"})
    claims = race(services.replay_claim, services.replay_claim)
    taken = [claim.pk for claim in claims if isinstance(claim, Replay)]
    assert taken == [first.pk]
    assert claims.count(None) == 1


@pytest.mark.django_db
def test_the_command_prints_trades_and_summary_as_json(live_day):
    out = StringIO()
    call_command("replay", "--start", "2026-11-20", "--end", "2026-11-20", "--stop-pct", "0.01", "--json", stdout=out)
    body = json.loads(out.getvalue())
    btc = next(t for t in body["trades"] if t["signal_id"] == "s-BTCUSDT")
    assert (btc["exit_reason"], btc["pnl"]) == ("STOP_LOSS", "-11.99000000")
    assert body["summary"]["replay"]["worst_pnl"] == "-15.01500000"


@pytest.mark.django_db
def test_the_command_replays_the_book_it_names_by_that_books_rules(live_day):
    services.book_create(slug="quiet", balance=Decimal("5000"))  # no signal of its own
    out = StringIO()
    call_command("replay", "--start", "2026-11-20", "--end", "2026-11-20", "--book", "quiet", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert (body["trades"], body["summary"]["starting_balance"]) == ([], "5000.00000000")
    assert Replay.objects.get(pk=body["id"]).book.slug == "quiet"
    with pytest.raises(CommandError, match="No book 'loud'"):
        call_command("replay", "--start", "2026-11-20", "--end", "2026-11-20", "--book", "loud")


@pytest.mark.django_db
def test_the_command_refuses_a_bad_option_naming_it():
    with pytest.raises(CommandError, match="--stop-pct"):
        call_command("replay", "--start", "2026-11-20", "--end", "2026-11-20", "--stop-pct", "7")
    assert not Replay.objects.exists()


@pytest.mark.django_db
def test_the_worker_runs_what_is_queued_in_the_background(live_day):
    out = StringIO()
    call_command("replay", "--start", "2026-11-20", "--end", "2026-11-20", "--background", stdout=out)
    queued = Replay.objects.get()
    assert queued.status == Replay.Status.QUEUED
    call_command("replay_worker", "--once", stdout=StringIO())
    queued.refresh_from_db()
    assert (queued.status, queued.progress) == (Replay.Status.DONE, 100)


@pytest.mark.django_db
def test_candles_are_read_page_by_page_as_the_orm_reads_them(live_day, monkeypatch):
    monkeypatch.setattr("ledger.selectors.replays.CANDLE_PAGE", 1)  # a page a candle: every boundary crossed
    (read,) = map(list, selectors.replay_candles(["SOLUSDT"], at(0, 0), at(23, 59)))
    stored = PriceCandle.objects.filter(symbol="SOLUSDT").order_by("minute")
    assert [(c.minute, c.open, c.high, c.low, c.close, c.bid, c.ask) for c in read] == list(
        stored.values_list("minute", "open", "high", "low", "close", "bid", "ask")
    )
    assert len(read) == 2  # 09:59 and 10:20


@pytest.mark.django_db
def test_symbols_read_together_each_get_their_own_candles_sharing_each_minute(live_day, monkeypatch):
    monkeypatch.setattr("ledger.selectors.replays.CANDLE_PAGE", 1)
    btc, eth = map(list, selectors.replay_candles(["BTCUSDT", "ETHUSDT"], at(0, 0), at(23, 59)))
    for symbol, read in (("BTCUSDT", btc), ("ETHUSDT", eth)):
        stored = PriceCandle.objects.filter(symbol=symbol).order_by("minute")
        assert [(c.symbol, c.minute, c.open, c.high, c.low, c.close) for c in read] == list(
            stored.values_list("symbol", "minute", "open", "high", "low", "close")
        )
    assert btc[0].minute is eth[0].minute  # 09:59, converted once for both


# --- A bracket and an entry order instead of the signals' own ------------------------------------------------


@pytest.fixture
def bracket_day(settings):
    """Two BUY signals at 100 taken at 10:00:30 from the ticks of 09:59:50 (risk 0.1 % of 10,000 = 10): b-own on
    ETHUSDT with its own bracket (stop 99, targets 101 and 102 closing half each, break even after the first:
    10 units), b-plain on BTCUSDT without levels (the ledger's 2 % stop, 98, and 2R target, 104: 5 units). Each
    symbol then trades up to 101.2 in the 10:05 minute and back to 100.2 in the 10:06 one; the day ends."""
    settings.PAPER_RISK_PER_TRADE = Decimal("0.001")
    ticks(("ETHUSDT", "100", at(9, 59, 50)), ("BTCUSDT", "100", at(9, 59, 50)))
    own = {"stop_loss": Decimal(99), "break_even_after": 1}
    own["targets"] = [{"price": "101", "fraction": "0.5"}, {"price": "102", "fraction": "0.5"}]
    for signal_id, symbol, levels in (("b-own", "ETHUSDT", own), ("b-plain", "BTCUSDT", {})):
        fields = SignalFields(
            signal_id=signal_id,
            symbol=symbol,
            action="BUY",
            entry_price=Decimal(100),
            confidence=Decimal("0.8"),
            timestamp=at(10, 0, 30),
            **levels,
        )
        services.signal_record(signal=fields)
        services.signal_execute(signal_id=signal_id, at=at(10, 0, 30))
    for symbol in ("ETHUSDT", "BTCUSDT"):
        ticks((symbol, "100.5", at(10, 5, 5)), (symbol, "101.2", at(10, 5, 20)), (symbol, "101", at(10, 5, 40)))
        ticks((symbol, "100.8", at(10, 6, 5)), (symbol, "100.2", at(10, 6, 30)))
    services.day_close(day=DAY)


@pytest.mark.django_db
def test_a_signals_own_bracket_is_replayed_as_the_ledger_closed_it(bracket_day):
    live = {t.signal_id: (t.status, str(t.exit_price), str(t.realized_pnl)) for t in PaperTrade.objects.all()}
    assert live == {
        # 5 at 101: 5 * 1 - its share of the entry fee (1 - 0.5) - 0.505 = 3.995; the stop moves to break even,
        # 100 * (1 + 2 * 0.001) = 100.2, where the rest closes: 5 * 0.2 - 0.5 - 0.501 = -0.001; 3.994 in all,
        # exiting at (5 * 101 + 5 * 100.2) / 10 = 100.6
        "b-own": ("STOP_LOSS", "100.60000000", "3.99400000"),
        "b-plain": ("EOD_CLOSE", "100.20000000", "-0.00100000"),  # 5 * 0.2 - 0.5 - 0.501
    }
    done = run()
    assert outcomes(done) == live
    assert done.result["differences"] == []


@pytest.mark.django_db
def test_two_targets_and_break_even_close_half_at_the_first_and_half_at_break_even(bracket_day):
    done = run(rules={"stop_pct": "0.01", "targets": "1:0.5,2:0.5", "break_even_after": "1"})
    assert done.parameters["rules"]["targets"] == [{"r": "1", "fraction": "0.5"}, {"r": "2", "fraction": "0.5"}]
    # b-plain now as b-own: stop 99, targets 101 and 102 (1R and 2R), 10 units; half at 101, half at 100.2
    assert outcomes(done) == {
        "b-own": ("STOP_LOSS", "100.60000000", "3.99400000"),
        "b-plain": ("STOP_LOSS", "100.60000000", "3.99400000"),
    }
    assert done.summary["replay"]["realized_pnl"] == "7.98800000"
    [changed] = [d for d in done.result["differences"] if d["changed"]]
    assert (changed["signal_id"], changed["cause"]) == (
        "b-plain",
        "the replay's rules: its stop, 99 stop and 101 target",
    )


@pytest.mark.django_db
def test_a_limit_entry_the_market_never_trades_through_expires_at_the_end_of_its_day(bracket_day):
    # BUY limits at 100: the market is at 100 when they are placed, then never below it (through: below, not at)
    done = run(rules={"entry": "limit"})
    assert done.result["trades"] == []
    assert {(r["signal_id"], r["reason"]) for r in done.result["refused"]} == {
        (signal_id, "Not filled before the end of trading day 2026-11-20.") for signal_id in ("b-own", "b-plain")
    }


@pytest.mark.django_db
def test_the_command_takes_the_bracket_and_entry_options(bracket_day):
    out = StringIO()
    call_command(
        "replay",
        *("--start", "2026-11-20", "--end", "2026-11-20", "--stop-pct", "0.01"),
        *("--targets", "1:0.5,2:0.5", "--break-even-after", "1", "--trail-pct", "0.5", "--json"),
        stdout=out,
    )
    body = json.loads(out.getvalue())
    # a 50 % trail is far behind: the same closes as without it
    assert {t["signal_id"]: t["pnl"] for t in body["trades"]} == {"b-own": "3.99400000", "b-plain": "3.99400000"}
    with pytest.raises(CommandError, match="--break-even-after: break_even_after needs targets, two or more"):
        call_command(
            "replay", "--start", "2026-11-20", "--end", "2026-11-20", "--targets", "2:1", "--break-even-after", "1"
        )
    with pytest.raises(CommandError, match="--entry-expiry"):
        call_command(
            "replay", "--start", "2026-11-20", "--end", "2026-11-20", "--entry", "limit", "--entry-expiry", "0"
        )


@pytest.mark.django_db(transaction=True)
def test_candles_read_ahead_outside_a_transaction_are_those_the_orm_reads(monkeypatch):
    monkeypatch.setattr("ledger.selectors.replays.CANDLE_PAGE", 2)  # pages of two: a page read ahead each time
    ticks(
        *((symbol, price, at(10, minute)) for minute, price in enumerate("12345") for symbol in ("BTCUSDT", "ETHUSDT"))
    )
    btc, eth = map(list, selectors.replay_candles(["BTCUSDT", "ETHUSDT"], at(0, 0), at(23, 59)))
    for symbol, read in (("BTCUSDT", btc), ("ETHUSDT", eth)):
        stored = PriceCandle.objects.filter(symbol=symbol).order_by("minute")
        assert [(c.symbol, c.minute, c.open, c.high, c.low, c.close, c.bid) for c in read] == list(
            stored.values_list("symbol", "minute", "open", "high", "low", "close", "bid")
        )
    assert len(btc) == 5
