// The live parts listen for a "poll" event on <body>. It fires every data-poll-ms while the tab is
// visible, and at once when the tab comes back, so a hidden tab costs the server nothing.
// (A script file rather than an hx-trigger filter: filters need eval, which the page's CSP forbids.)
(() => {
  const every = Number(document.body.dataset.pollMs);
  if (!every) return;
  const poll = () => {
    if (!document.hidden) htmx.trigger(document.body, "poll");
  };
  setInterval(poll, every);
  document.addEventListener("visibilitychange", poll);
})();
