"""Shared fixtures: signals and trades made through the real services, and a database URL for subprocesses."""

import itertools
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from ledger import services
from ledger.days import day_bounds, today
from ledger.inputs import SignalFields
from ledger.models import ApiToken, Book, PaperTrade, Signal


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty cache: the API's rate limits (per token, and wrong tokens per address)
    count there, and one test's wrong tokens must not throttle the next test's."""
    yield
    cache.clear()


# A fixed trading day, so that numbers and day boundaries never depend on when the suite runs.
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
# "Now" for a test whose answer depends on today or on the minute (`pytest.mark.time_machine(NOW, tick=False)`):
# a later day than T0's, at the start of a minute, and still, so no request of the test crosses midnight or a minute.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
# The last second of a trading day and the first of the next in Asia/Tokyo (UTC+9 all year): 14:59:59 and
# 15:00:00 UTC, both on 2026-11-20 in UTC, so a day taken in UTC instead of TRADING_DAY_TZ puts them together.
TOKYO = ZoneInfo("Asia/Tokyo")
LAST_SECOND = datetime(2026, 11, 20, 23, 59, 59, tzinfo=TOKYO)
MIDNIGHT = datetime(2026, 11, 21, 0, 0, 0, tzinfo=TOKYO)
_ids = itertools.count(1)
# The password of every person the fixtures make, for a test that logs in through the login form.
PASSWORD = "pw-for-tests"


@pytest.fixture
def make_signal():
    """Record a signal through the service; BUY 1 BTCUSDT at 100 unless told otherwise."""

    def make(**overrides) -> Signal:
        fields = {
            "signal_id": f"sig-{next(_ids)}",
            "symbol": "BTCUSDT",
            "action": "BUY",
            "entry_price": Decimal("100"),
            "confidence": Decimal("0.8"),
            "timestamp": T0,
            "timeframe": "1h",
            "confluences": ["trend", "volume"],
        } | overrides
        signal, _ = services.signal_record(signal=SignalFields(**fields))
        return signal

    return make


@pytest.fixture
def open_trade(make_signal):
    """Record and execute a signal, returning its open trade."""

    def make(*, at: datetime | None = None, **overrides) -> PaperTrade:
        signal = make_signal(**overrides)
        return services.signal_execute(signal_id=signal.signal_id, at=at or signal.timestamp + timedelta(minutes=1))

    return make


# When `closed_trade` was closed: half an hour after T0, on T0's trading day.
EXIT_AT = T0 + timedelta(minutes=30)


@pytest.fixture
def closed_trade(open_trade) -> PaperTrade:
    """LONG 50 BTCUSDT from 100 (stop 98, target 104), closed by hand at 101 at EXIT_AT:
    fees 5 + 5.05 = 10.05, realized (101-100)*50 - 10.05 = 39.95."""
    trade = open_trade()
    return services.trade_close(trade_id=trade.pk, price=Decimal("101"), at=EXIT_AT)


# An account that holds many trades at once, several per symbol, each sized as on the default account (1% of
# 10,000 = 100 at risk): for tests about something other than the account's limits.
ROOMY_ACCOUNT = {
    "PAPER_STARTING_BALANCE": Decimal("1000000"),
    "PAPER_RISK_PER_TRADE": Decimal("0.0001"),
    "PAPER_MAX_OPEN_TRADES": 0,
    "PAPER_ONE_TRADE_PER_SYMBOL": False,
}


@pytest.fixture
def many_trades(settings):
    for name, value in ROOMY_ACCOUNT.items():
        setattr(settings, name, value)


def roomy_environment() -> dict[str, str]:
    """ROOMY_ACCOUNT as environment variables, for a subprocess (a command, gunicorn) to read the same."""
    return {name: str(int(value) if isinstance(value, bool) else value) for name, value in ROOMY_ACCOUNT.items()}


@pytest.fixture
def slippage(settings):
    """The default PAPER_SLIPPAGE, 0.0005, which tests/settings.py turns off for tests about other rules."""
    settings.PAPER_SLIPPAGE = Decimal("0.0005")


@pytest.fixture
def around_midnight(settings, make_signal, open_trade, many_trades) -> SimpleNamespace:
    """Trading days in Tokyo, and on each side of midnight a signal and a close: `late` and `won` at
    LAST_SECOND, `early` and `lost` at MIDNIGHT. Both trades are BUYs at 100 (size 50) opened at 22:01 on the 20th."""
    settings.TRADING_DAY_TZ = TOKYO
    evening = datetime(2026, 11, 20, 22, 0, tzinfo=TOKYO)
    won, lost = open_trade(timestamp=evening), open_trade(symbol="ETHUSDT", timestamp=evening)
    services.trade_close(trade_id=won.pk, price=Decimal("103"), at=LAST_SECOND)  # 3*50 - (5 + 5.15) = 139.85
    services.trade_close(trade_id=lost.pk, price=Decimal("99"), at=MIDNIGHT)  # -1*50 - (5 + 4.95) = -59.95
    return SimpleNamespace(
        late=make_signal(timestamp=LAST_SECOND), early=make_signal(timestamp=MIDNIGHT), won=won, lost=lost
    )


@pytest.fixture
def trader(django_user_model):
    """A person who may trade: the `ledger.trade` permission the dashboard's actions require."""
    user = django_user_model.objects.create_user("trader", password=PASSWORD)
    user.user_permissions.add(Permission.objects.get(codename="trade", content_type__app_label="ledger"))
    return django_user_model.objects.get(pk=user.pk)  # afresh: permissions are cached on the object


@pytest.fixture
def viewer(django_user_model):
    """A person logged in without the `ledger.trade` permission: may look at every page, act on none."""
    return django_user_model.objects.create_user("viewer", password=PASSWORD)


@pytest.fixture
def readonly_staff(django_user_model):
    """Staff in the "ledger read-only" group (made by the `readonly_group` command): may look in the admin only."""
    call_command("readonly_group", stdout=StringIO())
    user = django_user_model.objects.create_user("readonly-staff", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="ledger read-only"))
    return user


def client_logged_in_as(user) -> Client:
    """A client of its own, logged in as `user`: pytest-django's `client` stays anonymous beside it."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def trader_client(trader) -> Client:
    return client_logged_in_as(trader)


@pytest.fixture
def viewer_client(viewer) -> Client:
    return client_logged_in_as(viewer)


@pytest.fixture
def readonly_staff_client(readonly_staff) -> Client:
    return client_logged_in_as(readonly_staff)


@pytest.fixture
def read_only_database():
    """The database answers reads and refuses writes, as an unwritable SQLite file or a read-only PostgreSQL does."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        else:  # this test's transaction, rolled back at its end; foreign keys checked now, not at its end
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET TRANSACTION READ ONLY")
    yield
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA query_only = OFF")


@pytest.fixture
def api_client() -> Client:
    """A client of its own that sends a valid API token that may trade (Authorization: Bearer) with every request."""
    _, token = services.api_token_create(name="tests", scope=ApiToken.Scope.TRADE)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_ledger_consistent() -> None:
    """Every trade closed at most once: the running total is the sum of realized PnL, and signals agree."""
    realized = sum((t.realized_pnl for t in PaperTrade.objects.exclude(status=PaperTrade.Status.OPEN)), Decimal(0))
    realized += sum((t.exited_pnl for t in PaperTrade.objects.filter(status=PaperTrade.Status.OPEN)), Decimal(0))
    assert (Book.objects.values_list("realized_pnl_total", flat=True).first() or 0) == realized
    assert not Signal.objects.filter(status=Signal.Status.EXECUTED, trade__status__in=PaperTrade.CLOSED_STATUSES)
    assert not Signal.objects.filter(status=Signal.Status.CLOSED, trade__status=PaperTrade.Status.OPEN)


def closed_trade_row(
    *, exit_time: datetime, realized_pnl: Decimal, held: timedelta = timedelta(hours=1), **fields
) -> PaperTrade:
    """An unsaved closed trade with exactly the numbers given, not through the services: for reads that only
    sum columns (statistics, exports), and fast enough to bulk_create by the hundred thousand."""
    return PaperTrade(
        **{
            "book": services.default_book(),
            "symbol": "BTCUSDT",
            "direction": PaperTrade.Direction.LONG,
            "status": PaperTrade.Status.MANUAL_CLOSE,
            "entry_price": Decimal("100"),
            "exit_price": Decimal("101"),
            "current_price": Decimal("101"),
            "exit_quote": Decimal("101"),
            "max_price": Decimal("101"),
            "min_price": Decimal("100"),
            "position_size": Decimal("1"),
            "stop_loss": Decimal("98"),
            "take_profit": Decimal("104"),
            "risk_amount": Decimal("2"),
            "fees": Decimal("0"),
        }
        | fields,
        entry_time=exit_time - held,
        exit_time=exit_time,
        realized_pnl=realized_pnl,
    )


def row_counts() -> tuple[int, int]:
    return Signal.objects.count(), PaperTrade.objects.count()


def wait_out_the_day(seconds: float) -> None:
    """For work that runs in another process (gunicorn, a child) on the real clock, which a freeze in this
    process does not reach: if the trading day has fewer than `seconds` left, sleep into the next one."""
    left = (day_bounds(today())[1] - timezone.now()).total_seconds()
    if left < seconds:
        time.sleep(left + 0.5)


def database_url() -> str:
    """The URL of the database the tests run on, for a subprocess (a command, gunicorn) to share it."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
