"""The replay page (/replay/): the form queues a replay for the worker, refuses bad input naming the field, the
progress part is polled while it runs, and a done replay shows the comparison."""

import pytest

from ledger import services
from ledger.models import Replay

from .helpers import HTMX
from .test_services_replays import live_day  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
DAY = {"start": "2026-11-20", "end": "2026-11-20"}


def test_the_page_has_a_form_and_a_nav_link(trader_client):
    page = trader_client.get("/replay/")
    assert page.status_code == 200
    assert b'href="/replay/"' in page.content
    assert b'name="stop_pct"' in page.content


def test_the_form_queues_a_replay_and_shows_its_progress(trader_client, trader):
    answer = trader_client.post("/replay/", DAY | {"stop_pct": "0.01", "one_per_symbol": "no"})
    queued = Replay.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/replay/{queued.pk}/"
    assert (queued.status, queued.created_by, queued.parameters["rules"]) == (
        Replay.Status.QUEUED,
        trader,
        {"stop_pct": "0.01", "one_per_symbol": False},
    )
    part = trader_client.get(f"/replay/{queued.pk}/", HTTP_HX_TARGET="replay-status", **HTMX)
    assert b"<progress" in part.content
    assert b">Cancel</button>" in part.content
    assert b'name="stop_pct"' not in part.content  # the part alone, not the page


def test_bad_input_is_refused_naming_the_field_and_nothing_is_queued(trader_client):
    answer = trader_client.post("/replay/", DAY | {"risk": "5"})
    assert answer.status_code == 422
    assert b"rules.risk: risk must be a number from 0 to 1." in answer.content
    assert b'value="5"' in answer.content  # what the trader typed stays in the form
    assert not Replay.objects.exists()


def test_the_form_takes_a_bracket_and_an_entry_order(trader_client):
    fields = {"targets": "1:0.5, 2:0.5", "break_even_after": "1", "trail_pct": "0.01", "entry": "limit"}
    answer = trader_client.post("/replay/", DAY | fields | {"entry_expiry": "600"})
    queued = Replay.objects.get()
    assert answer.status_code == 302
    assert queued.parameters["rules"] == {
        "targets": [{"r": "1", "fraction": "0.5"}, {"r": "2", "fraction": "0.5"}],
        "break_even_after": 1,
        "trail_pct": "0.01",
        "entry": "limit",
        "entry_expiry": 600,
    }
    page = trader_client.get(f"/replay/{queued.pk}/").content.decode()
    assert 'name="targets" value="1:0.5, 2:0.5"' in page  # the form shows what was replayed
    assert '<option value="limit" selected>' in page


def test_bad_targets_are_refused_naming_the_field(trader_client):
    answer = trader_client.post("/replay/", DAY | {"targets": "1:0.5, 2:0.6"})
    assert answer.status_code == 422
    assert b"rules.targets: the targets&#x27; fractions add up to 1.1; they must add up to 1." in answer.content
    assert not Replay.objects.exists()


def test_a_viewer_may_look_but_not_run_a_replay(viewer_client):
    assert viewer_client.get("/replay/").status_code == 200
    assert viewer_client.post("/replay/", DAY).status_code == 403
    assert not Replay.objects.exists()


def test_a_done_replay_shows_the_comparison_and_links_the_changed_trades(trader_client, live_day):  # noqa: F811
    queued = services.replay_queue(parameters=DAY | {"rules": {"stop_pct": "0.01"}})
    services.replay_claim(replay_id=queued.pk)
    done = services.replay_run(replay_id=queued.pk)
    page = trader_client.get(f"/replay/{done.pk}/").content.decode()
    assert 'id="replay-curves"' in page
    assert "40%" in page  # the replay's win rate: 2 of 5
    changed = {row["trade_id"] for row in done.result["differences"] if row["changed"]}
    assert len(changed) == 2
    for trade_id in changed:
        assert f'href="/trades/{trade_id}/"' in page
    assert 'from <strong class="num">\u221215.02</strong>' in page  # the band: -15.015 to 14.955
    assert 'to <strong class="num">+14.96</strong>' in page


def test_a_running_replay_can_be_cancelled_from_the_page(trader_client):
    queued = services.replay_queue(parameters=DAY)
    answer = trader_client.post(f"/replay/{queued.pk}/cancel/")
    queued.refresh_from_db()
    assert (answer.status_code, queued.status) == (302, Replay.Status.CANCELLED)
    again = trader_client.post(f"/replay/{queued.pk}/cancel/")
    assert again.status_code == 409
    assert b"only a waiting or running replay can be cancelled" in again.content


def test_an_unknown_replay_is_a_404(trader_client):
    assert trader_client.get("/replay/999/").status_code == 404
