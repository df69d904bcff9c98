// Browser notifications of fills and exits on today's dashboard, for a trader who opts in (the button in the
// day's heading). A file rather than an inline script: the page's CSP allows only scripts from the site.
// It reads the page itself: whenever the active trades or the journal are refreshed (a pushed event or a poll,
// whichever brought it), a row that was not there before is a fill (a new active trade) or an exit (a new
// journal row), shown as a notification. Rows present when the page loaded are never announced.
(() => {
  const button = document.getElementById("browser-notify");
  if (!button || !("Notification" in window)) return;
  const KEY = "ledger.browserNotify";
  const wanted = () => localStorage.getItem(KEY) === "on" && Notification.permission === "granted";
  const show = () => {
    const on = wanted();
    button.hidden = false;
    button.setAttribute("aria-pressed", String(on));
    button.disabled = Notification.permission === "denied";
    button.textContent = button.disabled
      ? "Notifications blocked by the browser"
      : on ? "Notifying fills and exits" : "Notify me of fills and exits";
  };
  button.addEventListener("click", async () => {
    if (wanted()) {
      localStorage.setItem(KEY, "off");
    } else if ((await Notification.requestPermission()) === "granted") {
      localStorage.setItem(KEY, "on");
    }
    show();
  });
  show();

  // What each row says, by the row's id: active trades are "trade-<id>", the journal's closes "journal-<id>".
  const rows = (selector) => new Map([...document.querySelectorAll(selector)].map((row) => [row.id, row]));
  const text = (row, n) => row.cells[n]?.textContent.trim().replace(/\s+/g, " ") ?? "";
  const seen = { "active-trades": rows("#active-trades tbody tr"), journal: rows("#journal tbody tr") };
  const announce = {
    // Trade, Side, Entry, …
    "active-trades": (row) => [`Filled: ${text(row, 1)} ${text(row, 0)}`, `Entry ${text(row, 2)}`],
    // Closed, Trade, Side, Entry, Exit, Reason, Size, Fees, Realized
    journal: (row) => [`${text(row, 5)}: ${text(row, 2)} ${text(row, 1)} ${text(row, 8)}`, `Exit ${text(row, 4)}`],
  };
  document.body.addEventListener("htmx:afterSettle", (event) => {
    const part = event.detail.target.id;
    if (!(part in seen)) return;
    const now = rows(`#${part} tbody tr`);
    for (const [id, row] of now) {
      if (!seen[part].has(id) && wanted()) {
        const [title, body] = announce[part](row);
        new Notification(title, { body, tag: `${part}-${id}` });
      }
    }
    seen[part] = now;
  });
})();
