// The routing rule's change form: as the admin edits, ask the server what the rule AS EDITED
// would match among recent analysed tickets (nothing is saved), and show it under the form.
(function () {
  "use strict";
  const panel = document.getElementById("rule-preview");
  const body = document.getElementById("rule-preview-body");
  const form = panel && panel.closest("form");
  if (!form || !body) return;
  const WAIT_MS = 300;  // one request once typing pauses, not one per key
  let timer = null, asked = 0;

  function ask() {
    const number = ++asked;
    fetch(panel.dataset.url, { method: "POST", body: new FormData(form), credentials: "same-origin",
                               headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (number !== asked) return;  // a later edit's answer is on its way
        body.innerHTML = answer.html;
        panel.dataset.matched = answer.error ? "" : String(answer.matched);
        panel.dataset.updates = String(Number(panel.dataset.updates || 0) + 1);
      })
      .catch(function () { if (number === asked) panel.dataset.matched = ""; });
  }
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(ask, WAIT_MS);
  }
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  ask();
})();
