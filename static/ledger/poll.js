// The live parts: when they refresh, and what a refresh must not take from the trader.
// (A script file rather than hx-trigger filters or hx-on: both need eval, which the page's CSP forbids.)
(() => {
  // A "poll" event on <body> every data-poll-ms while the tab is visible, and at once when it comes back, so a
  // hidden tab costs the server nothing. The live parts listen for it (and for ledgerChanged, after an action).
  const every = Number(document.body.dataset.pollMs);
  if (every) {
    const poll = () => {
      if (!document.hidden) htmx.trigger(document.body, "poll");
    };
    setInterval(poll, every);
    document.addEventListener("visibilitychange", poll);
  }

  // A part holds still while a mouse pointer is on it: a row added above would move the button under it. Its
  // polls wait, and it catches up (the "catchup" event it listens for) as soon as the pointer leaves. After the
  // trader's own action (ledgerChanged) it refreshes anyway: the change is the one they asked for.
  const held = new Set();
  document.addEventListener("pointerover", (event) => {
    const part = event.pointerType === "mouse" && event.target.closest('[hx-trigger*="catchup"]');
    if (part && !held.has(part)) {
      held.add(part);
      part.addEventListener("pointerleave", function leave() {
        part.removeEventListener("pointerleave", leave);
        held.delete(part);
        if (part.classList.contains("held")) {
          part.classList.remove("held");
          htmx.trigger(part, "catchup");
        }
      });
    }
  });
  document.body.addEventListener("htmx:confirm", (event) => {
    const part = event.detail.elt;
    if (held.has(part) && event.detail.triggeringEvent?.type === "poll") {
      event.preventDefault();  // this poll is not sent; "catchup" sends the next one
      part.classList.add("held");
    }
  });

  // Focus stays where it is through a refresh: morphing keeps the element. When the refresh removes it (the
  // trade closed, the signal was executed), focus goes to the same place in the part: the same button of the row
  // now in that position (or the nearest row that has one), else the part's heading, never to the page's top.
  let lost = null;
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const part = event.detail.target;
    const focused = document.activeElement;
    if (!part.id || !part.contains(focused) || focused === part) return;
    const rows = [...part.querySelectorAll("tbody tr")];
    const row = focused.closest("tr");
    lost = { part: part.id, index: rows.indexOf(row), label: focused.textContent.trim() };
  });
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (!lost || event.detail.target.id !== lost.part) return;
    const part = document.getElementById(lost.part);
    const { index, label } = lost;
    lost = null;
    if (!part || (document.activeElement && document.activeElement !== document.body)) return;
    const rows = [...part.querySelectorAll("tbody tr")];
    const order = rows.map((row, i) => [Math.abs(i - index), row]).sort((a, b) => a[0] - b[0]).map(([, row]) => row);
    const buttons = (row) => [...row.querySelectorAll("button, a[href]")];
    const target = index >= 0 && order.map((row) => buttons(row).find((b) => b.textContent.trim() === label)).find(Boolean);
    const heading = part.querySelector("h2");
    if (target) {
      target.focus();
    } else if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  });
})();
