// The live page's stream (sse-connect on <body>, htmx's SSE extension): each part refreshes on the events that touch
// it (hx-trigger="sse:<kind>"); <body data-live> says "connecting", "stream" or "poll". While the stream cannot be held (refused, cut, or a proxy that buffers it so that
// its first event never arrives) the page polls as before (poll.js polls while <body data-live="poll">), and stops
// polling as soon as the stream delivers again. A new connection resumes after the last event this page received,
// so a reconnect loses nothing. (A script file: the page's CSP forbids inline scripts and eval.)
(() => {
  const body = document.body;
  if (!body.hasAttribute("sse-connect")) return;
  const STALL = 5000;  // ms a (re)connection may take to deliver its first event ("stream.ready")
  let last = null;  // the id of the last event received
  let stalled = null;
  const poll = () => {
    body.dataset.live = "poll";
  };
  const watch = () => {
    clearTimeout(stalled);
    stalled = setTimeout(poll, STALL);
  };
  htmx.createEventSource = (url) => {
    const resumed = new URL(url, location.href);
    if (last !== null) resumed.searchParams.set("after", last);
    const source = new EventSource(resumed, { withCredentials: true });
    // htmx's SSE extension adds a listener for a part's sse:<kind> triggers each time htmx processes the part, which
    // it does again after each refresh (the part's classes changed while it settled): the listeners, and the requests
    // each event sends, multiplied with every refresh. One listener per part and kind: the newest replaces the one
    // before (the extension keeps a part's newest listener in htmx's data on the part).
    const listening = new WeakMap();  // part -> {kind: listener}
    const listen = source.addEventListener.bind(source);
    source.addEventListener = (kind, listener, options) => {
      const part = [...document.querySelectorAll('[hx-trigger*="sse:"]')].find(
        (element) => element["htmx-internal-data"]?.sseEventListener === listener,
      );
      if (part) {
        const kinds = listening.get(part) ?? {};
        if (kinds[kind]) source.removeEventListener(kind, kinds[kind]);
        kinds[kind] = listener;
        listening.set(part, kinds);
      }
      listen(kind, listener, options);
    };
    window.ledgerStream = source;  // the page's stream, for the console and the browser tests
    source.addEventListener("stream.ready", () => {
      clearTimeout(stalled);
      if (body.dataset.live === "poll") htmx.trigger(body, "poll");  // back from polling: catch up once
      body.dataset.live = "stream";
    });
    source.addEventListener("session.ended", () => {
      source.close();
      poll();  // the next poll meets the login page (ledger/middleware.py, login_ended)
    });
    watch();
    return source;
  };
  body.addEventListener("htmx:sseError", () => {
    poll();
    watch();
  });
  body.addEventListener("htmx:sseMessage", (event) => {
    if (event.detail.lastEventId) last = event.detail.lastEventId;
  });
  // A batch of prices refreshes a live part of the dashboard at most once a poll's interval (data-poll-ms): the first
  // batch after a quiet spell at once, those within the interval after it as one refresh at its end (the parts'
  // "catchup"). A steady feed then costs no more requests than polling and a lone tick shows at once; every other
  // event refreshes at once. (htmx's own throttle drops the last batch, and the part's other events with it.)
  const every = Number(body.dataset.pollMs) || 0;
  const refreshed = new WeakMap();  // part -> when a batch of prices last refreshed it
  const waiting = new WeakSet();
  body.addEventListener("htmx:confirm", (event) => {
    const part = event.detail.elt;
    if (event.detail.triggeringEvent?.type !== "sse:prices.applied" || !part.matches('[hx-trigger*="catchup"]')) return;
    const wait = (refreshed.get(part) ?? -Infinity) + every - Date.now();
    if (wait <= 0) {
      refreshed.set(part, Date.now());
      return;
    }
    event.preventDefault();
    if (waiting.has(part)) return;
    waiting.add(part);
    setTimeout(() => {
      waiting.delete(part);
      refreshed.set(part, Date.now());
      htmx.trigger(part, "catchup");
    }, wait);
  });
  body.addEventListener("tradeClosed", () => {  // a trade's page whose trade closed: nothing more to follow
    window.ledgerStream?.close();
    body.removeAttribute("sse-connect");
    delete body.dataset.live;
  });
})();
