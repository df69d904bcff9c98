"""The replay page in a real browser: a replay run from the form, its progress followed while the worker runs it,
then the comparison read (the chart drawn, the figures side by side, the changed trades linked)."""

import re

import pytest
from playwright.sync_api import expect

from ledger import services
from ledger.models import Replay
from tests.test_services_replays import live_day  # noqa: F401 - the fixture

from .conftest import POLL, assert_accessible, assert_no_csp_violation, log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_replay_run_from_the_page_shows_its_progress_then_the_comparison(
    page,
    server_url,
    trader,
    live_day,  # noqa: F811
):
    page.clock.install()
    page.goto(f"{server_url}/login/?next=/replay/")
    log_in(page)
    expect(page.locator("h1")).to_have_text("Replay")
    assert_accessible(page)
    page.get_by_label("First day").fill("2026-11-20")
    page.get_by_label("Last day").fill("2026-11-20")
    page.get_by_label("Stop distance").fill("0.01")
    page.get_by_role("button", name="Replay", exact=True).click()

    expect(page).to_have_url(re.compile(r"/replay/\d+/$"))
    queued = Replay.objects.get()
    status = page.locator("#replay-status")
    expect(status).to_have_attribute("data-status", "queued")
    expect(page.locator("#replay-progress")).to_have_attribute("value", "0")

    services.replay_claim(replay_id=queued.pk)  # the worker takes it, and reports 40 % of the period done
    Replay.objects.filter(pk=queued.pk).update(progress=40)
    page.clock.run_for(POLL)
    expect(status).to_have_attribute("data-status", "running")
    expect(page.locator("#replay-progress")).to_have_attribute("value", "40")
    assert_accessible(page, "#replay-status")
    screenshot(page, "replay-running")

    services.replay_run(replay_id=queued.pk)  # ... and finishes
    page.clock.run_for(POLL)
    expect(status).to_have_attribute("data-status", "done")
    figures = page.locator("#replay-figures")
    # the ledger won 2 of 5 with its 2 % stop (ETH's target, ADA's end of day); the replay 2 of 5 too
    expect(figures.get_by_role("row", name="Win rate")).to_contain_text("40%")
    expect(figures.get_by_role("row", name="Realized PnL")).to_contain_text("+2.48")  # the ledger's 2.4825
    expect(figures.get_by_role("row", name="Realized PnL")).to_contain_text("\u221215.02")  # the replay's -15.015
    expect(page.locator("#replay-changed tbody tr")).to_have_count(2)  # SOL and XRP: stopped instead of held
    expect(page.locator("#replay-chart")).to_have_attribute("data-replay-points", "6")  # the start, then 5 closes
    expect(page.locator("#replay-chart canvas").first).to_be_visible()
    assert_accessible(page)
    assert_no_csp_violation(page)
    screenshot(page, "replay-done")

    page.locator("#replay-changed a").first.click()
    expect(page).to_have_url(re.compile(r"/trades/\d+/$"))
