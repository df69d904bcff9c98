// The buttons' two helpers: Execute's confirmation in a <dialog>, and the notices' close button.
// (A script file: the page's CSP allows no inline script and no eval.)
(() => {
  // The confirmation arrives in #confirm (hx-target of Execute) and opens as a modal dialog, outside the live
  // parts, so a poll cannot take it away. Escape or Cancel closes it; confirming closes it as the post leaves, and
  // the browser gives focus back to the Execute button that opened it.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    const dialog = event.detail.target;
    if (dialog.id === "confirm" && !dialog.open) dialog.showModal();
  });
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    const dialog = event.detail.elt.closest("dialog");
    if (dialog && dialog.open) dialog.close();
  });

  // A notice stays until it is closed (or the next one replaces it): the trader may have looked away.
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".notice .dismiss");
    if (!button) return;
    button.closest(".notice").remove();
    document.getElementById("main").focus({ preventScroll: true });
  });
})();
