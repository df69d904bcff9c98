"""/books/ in a real browser: three books side by side, their curves on one chart, their setups loaded after the
page; the book switcher reloads a page of the book chosen. No serious axe-core violation, nothing the CSP refuses."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from ledger.days import today
from ledger.models import Book, BookMember
from tests.conftest import closed_trade_row
from tests.helpers import book, saved_closed

from .conftest import assert_accessible, assert_no_csp_violation, log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)
# Each book's PnLs, cycled over a close a day for 40 days: a steady one, a swinging one, a losing one.
BOOKS = {
    "default": ("Default", None, ["40", "-20", "35", "-10", "25"]),
    "swing": ("Swing", Decimal("5000"), ["-120", "260", "-90", "150", "-200", "310"]),
    "fade": ("Fade", Decimal("20000"), ["-60", "30", "-80", "-15", "20"]),
}


@pytest.fixture
def three_books(viewer):
    first = today() - timedelta(days=40)
    for slug, (name, balance, pnls) in BOOKS.items():
        each = book() if slug == "default" else Book.objects.create(slug=slug, name=name, starting_balance=balance)
        BookMember.objects.create(book=each, user=viewer)
        saved_closed(
            closed_trade_row(
                exit_time=datetime.combine(first + timedelta(days=n), time(12), tzinfo=UTC),
                realized_pnl=Decimal(pnls[n % len(pnls)]),
                book_id=each.pk,
                tags=["breakout" if Decimal(pnls[n % len(pnls)]) > 0 else "news"],  # the winners' tag and the losers'
            )
            for n in range(40)
        )


def test_books_page_compares_three_books_on_one_chart(page, server_url, viewer, three_books):
    page.goto(f"{server_url}/login/?next=/books/%3Fperiod%3Dall")
    log_in(page, "viewer")

    expect(page.locator("h1")).to_have_text("Books")
    chart = page.locator("#books-chart[data-drawn]")
    expect(chart).to_have_attribute("data-series", "3")
    expect(chart).to_have_attribute("data-points", str(3 * 41))  # each book's start and its 40 days
    assert chart.bounding_box()["width"] > 600  # the chart fills its card
    expect(page.locator("#books-chart canvas").first).to_be_visible()
    rows = page.locator("#books-compared tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(1).locator("th")).to_contain_text("Swing")
    expect(page.locator("#book-setups tbody tr")).to_have_count(3)  # the part loaded after the page
    fade = page.locator('#book-setups tr[data-book="fade"] td')
    expect(fade.nth(0)).to_contain_text("breakout")  # its best: the winners, 8 x 30 + 8 x 20 = +400
    expect(fade.nth(1)).to_have_text("+400.00")
    expect(fade.nth(2)).to_contain_text("news")  # its worst: 8 x (-60 - 80 - 15) = -1,240
    expect(fade.nth(3)).to_have_text("−1,240.00")
    screenshot(page, "books-three")
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # a phone: nothing wider than the screen
    screenshot(page, "books-phone")
    assert_no_csp_violation(page)


def test_the_switcher_reloads_the_page_of_the_book_chosen(page, server_url, viewer, three_books):
    page.goto(f"{server_url}/login/?next=/stats/%3Fperiod%3Dall")
    log_in(page, "viewer")

    page.get_by_label("Book").select_option("swing")
    page.get_by_role("button", name="Switch").click()

    expect(page).to_have_url(f"{server_url}/stats/?period=all&book=swing")
    expect(page.get_by_label("Book")).to_have_value("swing")
    expect(page.locator("#figures")).to_contain_text("5,000")  # Swing's starting balance
    assert_accessible(page, "header")
    assert_no_csp_violation(page)
