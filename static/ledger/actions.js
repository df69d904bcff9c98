// The buttons' two helpers: Execute's and Close's confirmations in a <dialog>, and the notices' close button.
// (A script file: the page's CSP allows no inline script and no eval.)
(() => {
  // The confirmation arrives in #confirm (hx-target of Execute and Close) and opens as a modal dialog, outside the
  // live parts, so a poll of a part cannot take it away. Escape or Cancel closes it; confirming closes it as the post
  // leaves, and the browser gives focus back to the button that opened it. A refusal because the price moved comes
  // back into #confirm too, and opens it again with the new fill.
  // The browser gives focus back only to the very button that opened it: if a refresh of its part replaced that
  // button meanwhile, focus goes to the same place in the part instead (poll.js), not to the page's top.
  // It opens once htmx has settled its content: before that its form is not yet htmx's, and a quick Enter on the
  // focused Confirm would post it as a plain form (a whole new page, the focus gone).
  let opener = null;
  document.body.addEventListener("htmx:afterSettle", (event) => {
    const dialog = event.detail.target;
    if (dialog.id === "confirm" && !dialog.open) {
      opener = window.ledgerFocus.where(document.activeElement);
      dialog.showModal();
    }
  });
  const confirm = document.getElementById("confirm");
  confirm?.addEventListener("close", () => {
    const focused = document.activeElement;
    const lost = !focused || focused === document.body || confirm.contains(focused);
    if (opener && lost) window.ledgerFocus.restore(opener);
  });
  // While open, its numbers refresh with each batch of prices the stream brings, or the poll (its own part,
  // confirm-live); once closed they wait.
  document.body.addEventListener("htmx:confirm", (event) => {
    const dialog = event.detail.elt.closest("dialog");
    if (dialog && !dialog.open) event.preventDefault();
  });
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    const dialog = event.detail.elt.closest("dialog");
    if (dialog && dialog.open && event.detail.elt.matches("form")) dialog.close();  // confirmed, not refreshed
  });

  // A notice stays until it is closed (or the next one replaces it): the trader may have looked away.
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".notice .dismiss");
    if (!button) return;
    button.closest(".notice").remove();
    document.getElementById("main").focus({ preventScroll: true });
  });
})();
