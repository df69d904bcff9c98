"""The pages: one module per family of pages, each view thin (parse, call one service or selector, render).

- `base.py`: what every page shares: `HtmxHttpRequest`, `render_page` (a page or one `#part` of its template),
  `asked_part`, the day's page (`page_context`, its parts' queries `TODAY_PARTS` / `PAST_PARTS`,
  `render_dashboard`, `day_url`), `refused` and `trade_required` with `TRADE_PERMISSION`.
- `dashboard.py`: today's and a past day's page (/, /day/<date>/), the day's signals, its diary, and the
  actions Execute, Expire and Close.
- `trades.py`: a trade's page (/trades/<id>/), its chart.json, its notes and tags, its stop and target.
- `history.py`: the journal's history of closed trades (/journal/), its filters' choices and its CSV.
- `stats.py`: the statistics page (/stats/).
- `replays.py`: the replay page (/replay/, /replay/<id>/): its form, its progress part, its comparison, Cancel.
- `exports.py`: the streamed CSV exports of a period (/export/...) and the streaming the history's CSV uses.
- `events.py`: the streams of events (Server-Sent Events, ledger/live.py): a live page's (/live/events) and a
  program's (/api/v1/events/stream, with an API token).

The forms the pages read are in `ledger/forms.py`, the SVG geometry of the statistics' charts in
`ledger/charts.py`; the templates are `ledger/templates/ledger/<page>.html`, with the fragments used by more than
one page in `parts.html`. `ledger/urls.py` maps each URL to its view.
"""
