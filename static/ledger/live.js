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
  body.addEventListener("tradeClosed", () => {  // a trade's page whose trade closed: nothing more to follow
    window.ledgerStream?.close();
    body.removeAttribute("sse-connect");
    delete body.dataset.live;
  });
})();
