"""/books/ (docs/books.md, "Comparing books"): the books a user may see, side by side, from the per-day aggregates;
and the book switcher on every page."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.models import Book, BookMember
from tests.helpers import HTMX, book, saved_closed

from .conftest import closed_trade_row

pytestmark = pytest.mark.django_db
DAY1 = datetime(2026, 11, 2, 12, tzinfo=UTC)


@pytest.fixture
def three_books(viewer):
    """The viewer is granted three books: `default` (10,000), `swing` (5,000) and `scalp` (20,000)."""
    books = [
        book(),
        Book.objects.create(slug="swing", name="Swing", starting_balance=Decimal("5000")),
        Book.objects.create(slug="scalp", name="Scalp", starting_balance=Decimal("20000")),
    ]
    for each in books:
        BookMember.objects.create(book=each, user=viewer)
    return books


def closes(of: Book, *pnls: str, tags: list[str] | None = None) -> None:
    """One close a day from DAY1, with these realized PnLs."""
    saved_closed(
        closed_trade_row(exit_time=DAY1 + timedelta(days=n), realized_pnl=Decimal(pnl), book_id=of.pk, tags=tags or [])
        for n, pnl in enumerate(pnls)
    )


def row(html: str, slug: str) -> str:
    start = html.index(f'<tr data-book="{slug}">')
    return html[start : html.index("</tr>", start)]


def test_each_book_its_return_drawdown_and_trades(viewer_client, three_books):
    default, swing, scalp = three_books
    closes(default, "100", "-50")
    closes(swing, "-200", "300", "-150")
    closes(scalp, "1000")

    html = viewer_client.get("/books/", {"period": "all"}).content.decode()

    assert ">+0.50%<" in row(html, "default")  # +50 of 10,000
    assert ">50.00 <" in row(html, "default")  # from 10,100 down to 10,050
    assert ">−1.00%<" in row(html, "swing")  # -50 of 5,000
    # 5,000 down to 4,800 (200, 4.00% of 5,000), then 5,100 down to 4,950 (150, 2.94%): the deeper
    assert '>200.00 <span class="hint">4.00%</span>' in row(html, "swing")
    assert ">+5.00%<" in row(html, "scalp")  # +1,000 of 20,000
    assert '<td class="num">3</td>' in row(html, "swing")


def test_the_chart_has_a_curve_per_book_from_its_starting_balance(viewer_client, three_books):
    default, swing, scalp = three_books
    closes(swing, "-200", "300")

    html = viewer_client.get("/books/", {"period": "all"}).content.decode()

    curves = html[html.index('id="books-curves"') :]
    curves = curves[curves.index(">") + 1 : curves.index("</script>")]
    assert '"name": "Swing", "points": [["2026-11-01", "5000"], ["2026-11-02", "4800"], ["2026-11-03", "5100"]]' in (
        curves.replace(".00000000", "")
    )
    assert '"name": "Default", "points": []' in curves


def test_the_page_costs_the_same_queries_whatever_the_number_of_trades(viewer_client, three_books):
    def counted() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get("/books/", {"period": "all"}).status_code == 200
        return len(captured)

    for each in three_books:
        closes(each, "10", "-5")
    few = counted()
    for each in three_books:
        closes(each, *[str(n % 7 - 3) for n in range(120)])

    assert counted() == few


def test_the_setups_part_names_each_books_best_and_worst_tag(viewer_client, three_books):
    default, swing, _ = three_books
    closes(default, "30", "20", tags=["breakout"])
    closes(default, "-40", tags=["fade"])
    closes(swing, "5", tags=["news"])

    page = viewer_client.get("/books/", {"period": "all"}).content.decode()
    part = viewer_client.get("/books/", {"period": "all", "part": "book-setups"}, **HTMX).content.decode()

    assert 'hx-trigger="load"' in page[page.index('id="book-setups"') - 120 :]
    assert part.lstrip().startswith('<section class="card breakdown" id="book-setups">')
    assert "breakout" in row(part, "default")
    assert row(part, "default").index("breakout") < row(part, "default").index("fade")  # best, then worst
    assert "news" in row(part, "swing")
    assert "no tagged trade closed" in row(part, "scalp")


def test_a_user_sees_only_their_books(viewer_client, three_books, django_user_model):
    other = Book.objects.create(slug="hidden", name="Hidden")
    closes(other, "999")

    html = viewer_client.get("/books/", {"period": "all"}).content.decode()

    assert "Hidden" not in html
    assert 'data-book="hidden"' not in html


def test_the_switcher_reloads_the_page_of_the_book_chosen(viewer_client, three_books):
    html = viewer_client.get("/stats/", {"period": "7"}).content.decode()

    switcher = html[html.index('id="book-switch"') - 200 : html.index("</form>", html.index('id="book-switch"'))]
    assert 'method="get" action="/stats/"' in switcher
    assert '<input type="hidden" name="period" value="7">' in switcher
    assert '<option value="default" selected>Default</option>' in switcher
    assert '<option value="swing">Swing</option>' in switcher
    assert '<label for="book-select">Book</label>' in switcher

    switched = viewer_client.get("/stats/", {"period": "7", "book": "swing"}).content.decode()
    assert '<option value="swing" selected>Swing</option>' in switched


def test_one_book_shows_no_switcher(viewer_client):
    html = viewer_client.get("/stats/").content.decode()

    assert 'id="book-switch"' not in html
    assert 'href="/books/"' not in html


def test_a_chart_over_years_draws_a_point_a_week(viewer_client, three_books):
    default = three_books[0]
    closes(default, *["1"] * 420)  # 420 days with a close, one a day from 2 Nov 2026

    html = viewer_client.get("/books/", {"period": "all"}).content.decode()

    curves = html[html.index('id="books-curves"') :]
    default_curve = curves[curves.index('"Default"') : curves.index("]]", curves.index('"Default"'))]
    # the name, the start, then each week's last close: 2 Nov 2026 is a Monday and 420 days are 60 weeks
    assert default_curve.count('", "') == 1 + 1 + 60
    assert default_curve.startswith('"Default", "points": [["2026-11-01", "10000"], ["2026-11-08", "10007')
    assert '["2027-12-26", "10420' in default_curve  # the last close, a Sunday, ends the last week
