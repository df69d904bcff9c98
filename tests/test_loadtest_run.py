"""The load test, short: 5 clients for 3 seconds against gunicorn on the suite's database (`make loadtest`
runs the full 20 clients for 60 seconds on both databases)."""

import pytest

from loadtest.run import run

from .conftest import database_url, wait_out_the_day

pytestmark = pytest.mark.django_db(transaction=True)  # gunicorn and the commands are other connections


def test_a_short_load_run_answers_no_5xx_and_leaves_a_consistent_ledger(tmp_path):
    # gunicorn stamps and executes each signal on the real clock, in one request, so the run stays in one
    # trading day: a signal stamped at 23:59:59.999 would be refused by its execution a moment later.
    wait_out_the_day(60)
    report, problems = run(
        database_url(),
        clients=5,
        seconds=3,
        log_path=tmp_path / "gunicorn.log",
        settings_module="tests.settings",
        workers=2,
    )

    assert problems == []
    kinds = {kind for kind, _, _ in report.samples}
    assert {"intake", "ticks", "poll"} <= kinds  # the mix really ran (closes depend on the dice)
    assert report.accepted  # and signals were accepted, each found stored exactly once
