"""A real server and a real browser: gunicorn on a loopback port, Playwright driving Debian's Chromium."""

import os
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger.models import PaperTrade
from tests.conftest import PASSWORD, database_url, wait_out_the_day
from tradingsite.serve import gunicorn

# Playwright's sync API runs an event loop in the test's thread; the ORM calls in these tests are
# ordinary blocking ones, so Django's guard against async contexts does not apply.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
POLL = 5000  # the dashboard's default poll interval, in ms; tests advance Playwright's clock by it
DAY_LEFT = 60  # seconds of the trading day a test needs ahead of it: far more than any one takes
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        reason = f"no browser at {CHROMIUM}: `apt-get install -y chromium` runs the browser tests"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def server_url(django_db_setup, chromium_path) -> str:
    """gunicorn serving the app against the test database, for the whole session."""
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url()}
    (ROOT / "artifacts").mkdir(exist_ok=True)
    with gunicorn(env=env, log_path=ROOT / "artifacts" / "gunicorn-e2e.log", workers=2) as server:
        yield server.url


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Registered before any page script runs; the browser fires this event for every blocked script, style,
# eval or request.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
      `(${event.sourceFile || "the page"}:${event.lineNumber})`
  );
});
"""
# axe-core, vendored for the tests (tests/e2e/vendor/axe-core/README.md). An init script runs through the
# DevTools protocol, so the page's Content-Security-Policy does not apply to it and the page stays unchanged.
AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
SERIOUS = ("serious", "critical")


@pytest.fixture
def page(browser):
    """A fresh browser context whose every document records CSP violations and carries axe-core."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    context.add_init_script(AXE)
    page = context.new_page()
    yield page
    context.close()


# axe-core adds <style> elements of its own to some pages while it runs (to read elements behind others), which the
# page's CSP refuses as inline styles: those two refusals on the admin's change page were axe's, not the page's, and
# are left out of what assert_no_csp_violation sees.
RUN_AXE = """async (part) => {
  const before = window.cspViolations.length;
  const result = await axe.run(part ? document.querySelector(part) : document, {resultTypes: ['violations']});
  const during = window.cspViolations.splice(before);
  window.cspViolations.push(...during.filter((refusal) => !refusal.startsWith('style-src-elem blocked inline')));
  return result;
}"""


def assert_accessible(page, part: str | None = None) -> None:
    """No serious or critical axe-core violation in the page, or in one part of it (a CSS selector)."""
    result = page.evaluate(RUN_AXE, part)
    serious = [v for v in result["violations"] if v["impact"] in SERIOUS]
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[node['target'] for node in v['nodes']][:3]}" for v in serious
    ]
    assert not found, f"{page.url} {part or ''}:\n" + "\n".join(found)


def assert_no_csp_violation(page) -> None:
    """The browser refused nothing under the page's Content-Security-Policy since the page loaded."""
    violations = page.evaluate("window.cspViolations")
    assert violations == [], f"{page.url}: {violations}"


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def one_trading_day():
    """gunicorn serves on the real clock, which time-machine in this process cannot stop. A test whose
    pages must all fall on one trading day (today's parts, a signal executed on its own day, today in the
    calendar) therefore starts only with DAY_LEFT seconds of the day ahead, waiting out the last ones.
    A minute turning only makes a poll of the active trades render again instead of answering 304,
    which no test counts on."""
    wait_out_the_day(DAY_LEFT)


def trade_now(open_trade, **fields) -> PaperTrade:
    """A signal executed as it comes: an earlier signal could belong to yesterday just after midnight."""
    now = timezone.now()
    return open_trade(timestamp=now, at=now, **fields)


def without_stream(page) -> None:
    """The page's stream of events refused (as by a proxy that will not hold it): the page polls, so it shows the
    ledger as it was until the test advances the clock by POLL. For a test of what a page behind the ledger does
    (a click on a row that changed meanwhile), or of the polling itself."""
    page.route("**/live/events**", lambda route: route.abort())


def confirm_close(page) -> None:
    """Close's confirmation is open in its dialog: confirm it."""
    page.get_by_role("dialog").get_by_role("button", name="Confirm: close").click()


def log_in(page, username: str = "trader") -> None:
    """Fill in the login page the browser is on, as one of the people tests/conftest.py makes."""
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile("/login/"))
    page.wait_for_load_state()  # the next page has loaded: a test may read it at once


@pytest.fixture
def logged_in(one_trading_day, page, server_url, trader):
    page.clock.install()
    page.goto(f"{server_url}/")
    log_in(page)
    expect(page.locator("h1")).to_contain_text("Today")
    page.on("dialog", lambda dialog: dialog.accept())  # the browser's confirmation of Expire
    return page
