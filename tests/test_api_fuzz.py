"""A property-based fuzz of the API from its own OpenAPI document.

schemathesis generates requests for every operation (valid and invalid) from the document ninja builds,
and a second strategy sends plausible trading traffic (signals, replays, ticks, closes, expiries on two
symbols) so that requests also reach the services' writes. Every request goes in-process through the WSGI
application with a valid token. Checked after each: no 5xx, the status is documented, the body matches its
schema, and the ledger is consistent. Bounded in examples: a few seconds.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ledger import services
from ledger.api import api
from ledger.models import ApiToken, PaperTrade
from tradingsite.wsgi import application

from .conftest import assert_ledger_consistent

SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1"))
SCHEMA.app = application
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PASSPHRASE = "fuzz-passphrase-of-24-chars"

symbols = st.sampled_from(["BTCUSDT", "ETHUSDT"])
prices = st.decimals(min_value=90, max_value=110, places=2).map(str)
signal_ids = st.sampled_from([f"f-{n}" for n in range(12)])  # few, so replays and conflicts happen


def operation(path: str, method: str):
    return SCHEMA[f"/api/v1{path}"][method]


signal_body = st.fixed_dictionaries(
    {
        "signal_id": signal_ids,
        "symbol": symbols,
        "action": st.sampled_from(["BUY", "SELL"]),
        "entry_price": prices,
        "confidence": st.just("0.5"),
    },
    optional={"execute": st.booleans()},
)
trading = st.one_of(
    signal_body.map(lambda body: operation("/signals", "POST").Case(body=body)),
    st.lists(st.fixed_dictionaries({"symbol": symbols, "price": prices}), min_size=1, max_size=5).map(
        lambda ticks: operation("/prices", "POST").Case(body={"ticks": ticks})
    ),
    st.one_of(st.none(), prices).map(  # trade_id 0 stands for "an existing trade", chosen when sent
        lambda price: operation("/trades/{trade_id}/close", "POST").Case(
            path_parameters={"trade_id": 0}, body={"price": price}
        )
    ),
    signal_ids.map(
        lambda signal_id: operation("/signals/{signal_id}/expire", "POST").Case(
            path_parameters={"signal_id": signal_id}, body={"reason": "fuzz"}
        )
    ),
    st.fixed_dictionaries(
        {
            "passphrase": st.just(PASSPHRASE),
            "ticker": symbols,
            "action": st.sampled_from(["buy", "sell"]),
            "price": prices,
            "order_id": signal_ids,
        }
    ).map(lambda body: operation("/webhooks/tradingview", "POST").Case(body=body)),
)


@pytest.fixture
def wsgi_in_test_transaction():
    """As Django's test client does: the handler must not close the connection holding the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, wsgi_in_test_transaction, settings):
    settings.TRADINGVIEW_PASSPHRASE = PASSPHRASE
    return services.api_token_create(name="fuzz", scope=ApiToken.Scope.TRADE)[1]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(case=st.one_of(SCHEMA.as_strategy(), trading))
def test_fuzzed_requests_get_documented_answers_and_leave_the_ledger_consistent(token, case):
    if (case.path_parameters or {}).get("trade_id") == 0:
        case.path_parameters["trade_id"] = PaperTrade.objects.order_by("?").values_list("pk", flat=True).first() or 1
    # identity: schemathesis calls the WSGI app in-process and reads the body as sent, where an HTTP client would
    # undo the gzip the app applies to JSON for a client that accepts it (docs/dashboard.md, "Bytes on the wire")
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
    case.call_and_validate(headers=headers, checks=CHECKS)

    assert_ledger_consistent()
    closed = PaperTrade.objects.exclude(status=PaperTrade.Status.OPEN)
    assert not closed.filter(exit_price=None).exists()
    assert not closed.filter(exit_time=None).exists()
    assert not PaperTrade.objects.filter(status=PaperTrade.Status.OPEN, realized_pnl__isnull=False).exists()
