"""Fills a real market would give, and an account that cannot spend what it does not have (docs/fills.md).

Through the API and the services, on SQLite and PostgreSQL, with the default slippage (0.0005) and fee
(0.001 a side). Every number is worked out by hand in the comment beside it.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from ledger import selectors, services
from ledger.inputs import SignalFields, Tick
from ledger.models import MarketPrice, PaperTrade, Signal
from tests.helpers import book

from .conftest import T0, row_counts
from .helpers import api_post, signal_body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("slippage")]
NOW = T0 + timedelta(minutes=10)  # the API's clock in these tests


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def signal(**overrides) -> dict:
    """A signal of the API's moment NOW."""
    return signal_body(timestamp=NOW.isoformat()) | overrides


def tick(client, *, price: str, at=NOW, symbol="BTCUSDT", **book):
    response = api_post(
        client, "prices", {"ticks": [{"symbol": symbol, "price": price, "time": at.isoformat(), **book}]}
    )
    assert response.status_code == 200, response.content
    return response.json()


# --- The fill is the market's price at the moment of execution --------------------------------------


def test_a_buy_after_a_tick_at_105_fills_at_105_plus_slippage(api_client):
    tick(api_client, price="105", at=NOW - timedelta(seconds=30))

    trade = api_post(api_client, "signals", signal()).json()["trade"]

    assert Decimal(trade["entry_price"]) == Decimal("105.0525")  # 105 * (1 + 0.0005)
    assert Decimal(trade["entry_slippage"]) == Decimal("5.0525")  # 105.0525 - the signal's 100: against the trader
    # default stop 2% from the fill, rounded toward it: 105.0525 * 0.98 = 102.95145; target 105.0525 + 2*2.10105
    assert (Decimal(trade["stop_loss"]), Decimal(trade["take_profit"])) == (Decimal("102.95145"), Decimal("109.2546"))
    assert Decimal(trade["position_size"]) == Decimal("47.59524999")  # risk 100 / 2.10105, rounded down


def test_a_buy_takes_the_ask_and_is_marked_at_the_bid(api_client):
    tick(api_client, price="105", bid="104.9", ask="105.1", at=NOW - timedelta(seconds=30))

    trade = api_post(api_client, "signals", signal(stop_loss="99", take_profit="120")).json()["trade"]

    assert Decimal(trade["entry_price"]) == Decimal("105.1")
    assert Decimal(trade["position_size"]) == Decimal("16.39344262")  # 100 / (105.1 - 99), rounded down
    assert Decimal(trade["exit_quote"]) == Decimal("104.9")  # a LONG's market exit sells at the bid
    # (104.9 - 105.1) * 16.39344262 = -3.27868852; fees 1.72295082 + 1.71967213 (0.001 * price * size)
    assert Decimal(trade["unrealized_pnl"]) == Decimal("-6.72131147")


def test_a_tick_stamped_a_little_ahead_is_the_market_an_entry_fills_at(api_client):
    tick(api_client, price="100", at=NOW + timedelta(seconds=4))  # within MAX_CLOCK_SKEW (5 s): accepted

    trade = api_post(api_client, "signals", signal(entry_price="110", stop_loss="90")).json()["trade"]

    assert Decimal(trade["entry_price"]) == Decimal("100.05")  # the tick's 100 * 1.0005, not the signal's 110


def test_a_seven_minute_old_signal_is_recorded_expired_with_the_reason(api_client):
    response = api_post(api_client, "signals", signal(timestamp=(NOW - timedelta(minutes=7)).isoformat()))

    assert response.status_code == 201
    answer = response.json()
    assert answer["trade"] is None
    assert answer["refused"] == "the signal is 7 min old; a signal can be taken for 5 min after it is sent."
    recorded = Signal.objects.get()
    assert recorded.status == Signal.Status.EXPIRED
    assert recorded.status_reason == f"Not executed: {answer['refused']}"


def test_a_tick_older_than_two_minutes_does_not_price_an_entry(api_client):
    tick(api_client, price="105", at=NOW - timedelta(seconds=121))

    answer = api_post(api_client, "signals", signal(timestamp=(NOW - timedelta(minutes=4)).isoformat())).json()

    assert Decimal(answer["trade"]["entry_price"]) == Decimal("100.05")  # the signal's 100 and slippage, not 105


def test_a_buy_whose_target_the_market_already_passed_is_refused(api_client):
    tick(api_client, price="105", at=NOW - timedelta(seconds=5))

    answer = api_post(api_client, "signals", signal(take_profit="104")).json()

    assert answer["trade"] is None
    assert answer["refused"] == "price 105.0525 is past the target 104."  # the fill, 105 * 1.0005
    assert answer["signal"]["status"] == "EXPIRED"


def test_a_far_stop_sell_without_a_target_answers_422_and_writes_nothing(api_client):
    response = api_post(api_client, "signals", signal(action="SELL", stop_loss="150"))  # target 100 - 2*50 = 0

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "take_profit"
    assert row_counts() == (0, 0)


# --- Exits ----------------------------------------------------------------------------------------


def test_a_stop_crossed_by_a_gap_fills_at_the_tick_less_slippage_and_a_target_at_the_target(api_client):
    long = api_post(api_client, "signals", signal()).json()["trade"]  # fill 100 * 1.0005 = 100.05
    short = api_post(api_client, "signals", signal(signal_id="s-2", symbol="ETHUSDT", action="SELL")).json()["trade"]
    assert Decimal(long["stop_loss"]) == Decimal("98.049")  # 100.05 * 0.98
    assert Decimal(short["take_profit"]) == Decimal(
        "95.952"
    )  # fill 100 * 0.9995 = 99.95; stop * 1.02 = 101.949; 99.95 - 2*1.999

    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):  # a tick is never from the future
        answer = api_post(
            api_client,
            "prices",
            {
                "ticks": [
                    {"symbol": "BTCUSDT", "price": "97", "time": (NOW + timedelta(minutes=1)).isoformat()},
                    {"symbol": "ETHUSDT", "price": "95", "time": (NOW + timedelta(minutes=1)).isoformat()},
                ]
            },
        ).json()

    closed = {trade["symbol"]: trade for trade in answer["closed"]}
    assert closed["BTCUSDT"]["status"] == "STOP_LOSS"
    assert Decimal(closed["BTCUSDT"]["exit_price"]) == Decimal("96.9515")  # the gap's 97 less 0.0005: a market sell
    assert closed["ETHUSDT"]["status"] == "TAKE_PROFIT"
    assert Decimal(closed["ETHUSDT"]["exit_price"]) == Decimal("95.952")  # a limit order at its price, not at 95


def test_a_close_by_hand_without_a_price_sells_at_the_last_bid(api_client):
    trade = api_post(api_client, "signals", signal()).json()["trade"]
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        tick(api_client, price="101", bid="100.9", ask="101.1", at=NOW + timedelta(minutes=1))

        closed = api_post(api_client, f"trades/{trade['id']}/close", {}).json()

    assert Decimal(closed["exit_price"]) == Decimal("100.9")
    # size 100 / (100.05 - 98.049) = 49.97501249; (100.9 - 100.05) * 49.97501249 = 42.47876062;
    # fees 0.001 * 100.05 * size = 5.00000000 and 0.001 * 100.9 * size = 5.04247876
    assert Decimal(closed["realized_pnl"]) == Decimal("32.43628186")


def test_the_end_of_day_closes_at_the_last_quote(open_trade, slippage):
    trade = open_trade()  # the signal's 100 * 1.0005 = 100.05
    services.prices_apply(ticks=[Tick("BTCUSDT", Decimal("101"), T0 + timedelta(minutes=5))])

    services.day_close(day=T0.date())

    trade.refresh_from_db()
    assert (trade.status, trade.exit_price) == (PaperTrade.Status.EOD_CLOSE, Decimal("100.9495"))  # 101 * 0.9995


# --- Ticks only move forward ---------------------------------------------------------------------


def test_a_tick_older_than_the_last_applied_for_its_symbol_is_ignored_and_counted(api_client):
    api_post(api_client, "signals", signal())  # stop 98.049
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        tick(api_client, price="101", at=NOW + timedelta(minutes=2))

        late = tick(api_client, price="97", at=NOW + timedelta(minutes=1))  # a late delivery through the stop

    assert (late["ignored"], late["closed"], late["marked"]) == (1, [], [])
    assert PaperTrade.objects.get().status == PaperTrade.Status.OPEN
    last = MarketPrice.objects.get(symbol="BTCUSDT")
    assert (last.price, last.at) == (Decimal("101"), NOW + timedelta(minutes=2))


def test_the_last_price_is_kept_for_a_symbol_without_a_trade(api_client):
    tick(api_client, price="3114", bid="3113.5", ask="3114.5", symbol="ETHUSDT")

    assert selectors.market_quote("ETHUSDT").ask == Decimal("3114.5")


def test_a_crossed_book_is_refused_naming_the_field(api_client):
    response = api_post(
        api_client, "prices", {"ticks": [{"symbol": "BTCUSDT", "price": "100", "bid": "101", "ask": "100.5"}]}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "ticks[0].bid"
    assert not MarketPrice.objects.exists()


# --- Cash and limits --------------------------------------------------------------------------------


def test_fifty_signals_on_distinct_symbols_never_hold_more_than_equity(api_client, settings):
    settings.PAPER_MAX_OPEN_TRADES = 0  # no limit on the count: cash alone limits them
    answers = [
        api_post(api_client, "signals", signal(signal_id=f"s-{n}", symbol=f"COIN{n}USDT")).json() for n in range(50)
    ]

    opened = [answer["trade"] for answer in answers if answer["trade"]]
    held = sum(Decimal(t["entry_price"]) * Decimal(t["position_size"]) * Decimal("1.001") for t in opened)
    assert held <= book().balance == Decimal("10000")
    # 100 / 2.001 = 49.97501249 units cost 5000.00000 + 5.0 fee; the second shrinks to what is left (4995.00000038
    # pays 49.87516232 units, 4995.00000011 with its fee); then 0.00000027 is left, below the minimum notional
    assert len(opened) == 2
    assert all("below the smallest trade the account makes, 10" in answer["refused"] for answer in answers[2:])
    assert book().cash >= 0
    assert selectors.ledger_violations(book()) == []


def test_a_second_signal_on_a_symbol_with_an_open_trade_is_refused(api_client):
    api_post(api_client, "signals", signal())

    answer = api_post(api_client, "signals", signal(signal_id="s-2", action="SELL")).json()

    assert answer["refused"] == "a trade on BTCUSDT is open already, and the account takes one trade a symbol."
    assert PaperTrade.objects.count() == 1


def test_at_most_max_open_trades_are_open(api_client, settings):
    settings.PAPER_MAX_OPEN_TRADES = 1
    api_post(api_client, "signals", signal(stop_loss="90"))  # 100 / 10.05 units: 1,000 notional

    answer = api_post(api_client, "signals", signal(signal_id="s-2", symbol="ETHUSDT", stop_loss="90")).json()

    assert answer["refused"] == "1 trades are open, the most the account allows at once."


def test_closing_gives_the_cash_back(open_trade):
    trade = open_trade()  # 100 / 2.001 = 49.97501249 units at 100.05
    assert book().open_cost == Decimal("5004.99999962")  # 4999.99999962 notional + 5.0 fee
    assert book().cash == Decimal("4995.00000038")

    services.trade_close(trade_id=trade.pk, price=Decimal("100.05"), at=T0 + timedelta(minutes=5))

    account = book()
    assert account.open_cost == 0
    assert account.cash == account.balance


# --- Exact on both databases ---------------------------------------------------------------------


def test_a_size_for_a_coin_priced_near_0_0001_reads_back_as_answered(api_client):
    answer = api_post(
        api_client, "signals", signal(symbol="SHIBUSDT", entry_price="0.00012345", stop_loss="0.00012")
    ).json()

    size = Decimal(answer["trade"]["position_size"])
    # fill 0.00012345 * 1.0005 = 0.000123511..., up to 0.00012352; risk 100 / 0.00000352 = 28,409,090.909...
    # 15 significant digits, rounded down; then cash: 10000 / (0.00012352 * 1.001) = 80,876,996.36..., no cap
    assert size == Decimal("28409090.9090909")
    assert PaperTrade.objects.get().position_size == size  # what the database kept is what was answered


def test_every_number_in_an_answer_has_8_decimal_places(api_client):
    trade = api_post(api_client, "signals", signal()).json()["trade"]

    # at the signal's 100: bought at 100.05, quoted at 99.95 to sell; (99.95 - 100.05) * 49.97501249 less fees
    # 5.0 + 4.99500375: -14.99250375, or -0.1499 of the 100 risked
    assert (trade["unrealized_pnl"], trade["r_multiple"], trade["position_size"]) == (
        "-14.99250375",
        "-0.14990000",
        "49.97501249",
    )
    daily = api_client.get(f"/api/v1/pnl/daily?date={NOW.date()}").json()[0]
    assert daily["realized_pnl"] == "0.00000000"


# --- R and percent --------------------------------------------------------------------------------


def test_a_trade_answers_its_r_multiple_and_return(api_client):
    trade = api_post(api_client, "signals", signal(stop_loss="98", take_profit="110")).json()["trade"]
    # fill 100.05; size 100 / 2.05 = 48.7804878; risk 48.7804878 * 2.05 = 99.99999999
    closed = api_post(api_client, f"trades/{trade['id']}/close", {"price": "104.15"}).json()
    # (104.15 - 100.05) * 48.7804878 = 199.99999998; fees 4.88048780 + 5.08048780 = 9.9609756
    assert Decimal(closed["realized_pnl"]) == Decimal("190.03902438")
    assert Decimal(closed["r_multiple"]) == Decimal("1.9004")  # 190.03902438 / 99.99999999
    assert Decimal(closed["return_pct"]) == Decimal("3.8939")  # 190.03902438 / (100.05 * 48.7804878) * 100


# --- The dashboard's Execute ----------------------------------------------------------------------


def test_execute_on_the_dashboard_answers_the_reason_and_leaves_the_signal_waiting(trader_client):
    services.signal_record(signal=SignalFields(**signal(timestamp=NOW - timedelta(minutes=7))))

    response = trader_client.post("/signals/s-1/execute/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200  # the notice that says why, swapped in
    assert b"the signal is 7 min old" in response.content
    assert Signal.objects.get().status == Signal.Status.GENERATED
