// The live parts: when they refresh, and what a refresh must not take from the trader.
// (A script file rather than hx-trigger filters or hx-on: both need eval, which the page's CSP forbids.)
(() => {
  // A "poll" event on <body> every data-poll-ms while the tab is visible, and at once when it comes back, so a
  // hidden tab costs the server nothing. The live parts listen for it (and for ledgerChanged, after an action).
  // A page that holds its stream of events (live.js: <body data-live="stream">) does not poll: its parts refresh on
  // the events themselves.
  const every = Number(document.body.dataset.pollMs);
  if (every) {
    const poll = () => {
      if (!document.hidden && document.body.dataset.live !== "stream") htmx.trigger(document.body, "poll");
    };
    setInterval(poll, every);
    document.addEventListener("visibilitychange", poll);
  }

  // The button under a resting mouse pointer stays the same button: the part under the pointer holds still, and so
  // does every part above it (a trade closing in the part above would move it up). Their polls wait, and they catch
  // up (the "catchup" event they listen for) as soon as the pointer leaves. After the trader's own action
  // (ledgerChanged) they refresh anyway: the change is the one they asked for.
  const held = new Set();
  const moves = (part, under) => part === under || part.compareDocumentPosition(under) & Node.DOCUMENT_POSITION_FOLLOWING;
  document.addEventListener("pointerover", (event) => {
    const part = event.pointerType === "mouse" && event.target.closest('[hx-trigger*="catchup"]');
    if (part && !held.has(part)) {
      held.add(part);
      part.addEventListener("pointerleave", function leave() {
        part.removeEventListener("pointerleave", leave);
        held.delete(part);
        // after the pointer's next part (if any) is held: a catch-up above it would move it
        setTimeout(() => {
          for (const waiting of document.querySelectorAll(".held")) {
            waiting.classList.remove("held", "above");
            htmx.trigger(waiting, "catchup");
          }
        });
      });
    }
  });
  document.body.addEventListener("htmx:confirm", (event) => {
    const part = event.detail.elt;
    const under = [...held].find((pointed) => moves(part, pointed));
    const why = event.detail.triggeringEvent?.type ?? "";
    if (under && (["poll", "catchup"].includes(why) || why.startsWith("sse:"))) {
      event.preventDefault();  // not sent now; a "catchup" sends it when the pointer leaves
      part.classList.add("held");
      part.classList.toggle("above", part !== under);
    }
  });

  // Focus stays where it is through a refresh: morphing keeps the element. When the refresh removes it (the
  // trade closed, the signal was executed), focus goes to the same place in the part: the same button of the row
  // now in that position (or the nearest row that has one), else the part's heading, never to the page's top.
  // (actions.js uses the same two helpers for the button that opened a confirmation.)
  const where = (element, part = element?.closest("[hx-get][id]")) => {
    if (!part?.id || !part.contains(element) || element === part) return null;
    const rows = [...part.querySelectorAll("tbody tr")];
    return { part: part.id, index: rows.indexOf(element.closest("tr")), label: element.textContent.trim() };
  };
  const restore = ({ part: id, index, label }) => {
    const part = document.getElementById(id);
    if (!part) return;
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
  };
  window.ledgerFocus = { where, restore };
  let lost = null;
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    lost = where(document.activeElement, event.detail.target) ?? lost;
  });
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (!lost || event.detail.target.id !== lost.part) return;
    const place = lost;
    lost = null;
    if (!document.activeElement || document.activeElement === document.body) restore(place);  // else it stayed
  });
})();
