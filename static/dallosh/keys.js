// Keyboard flow and selection for the queue and ticket pages. Shortcuts never fire while
// the agent types in a field; "?" (or the page's shortcuts button) opens the help dialog.
(function (Dallosh) {
  "use strict";

  function typing(event) {
    const target = event.target;
    return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
  }

  function onKeys(bindings) {
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
      // Enter on a focused button, link or summary keeps its own meaning (submit, follow, unfold).
      if (event.key === "Enter" && event.target.closest("button, a, summary, [role=button]")) return;
      const action = bindings[event.key];
      if (!action) return;
      event.preventDefault();
      action();
    });
    document.querySelectorAll("[data-help]").forEach(function (button) { button.addEventListener("click", help); });
  }

  function help() {
    const dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  }

  function click(id) {
    return function () { const el = document.getElementById(id); if (el) el.click(); };
  }

  function focus(id) {
    return function () { const el = document.getElementById(id); if (el) el.focus(); };
  }

  Dallosh.ticketKeys = function () {
    onKeys({ c: click("claim"), r: click("resolve"), e: focus("reply-text"), n: focus("note-text"), b: click("back"),
             "?": help });
  };

  // The queue: j/k move a highlighted row, x selects it, c/r run the bulk action on the
  // selection (the highlighted row when nothing is selected), o/Enter open it, / searches.
  Dallosh.queueKeys = function (table) {
    const form = document.getElementById("bulk-form");
    const selectAll = document.getElementById("select-all");
    let current = -1;

    function rows() { return Array.from(table.querySelectorAll("tbody tr[data-id]")); }
    function boxes() { return rows().map(function (row) { return row.querySelector("input[type=checkbox]"); }); }
    function selected() { return boxes().filter(function (box) { return box && box.checked; }); }

    function refreshBulk() {
      const count = selected().length;
      form.querySelectorAll("button[name=action]").forEach(function (button) { button.disabled = count === 0; });
      const label = document.getElementById("selected-count");
      if (label) label.textContent = label.dataset.template.replace("%s", count);
      if (selectAll) {
        const all = boxes().length;
        selectAll.checked = all > 0 && count === all;
        selectAll.indeterminate = count > 0 && count < all;
      }
    }

    function move(step) {
      const list = rows();
      if (!list.length) return;
      current = Math.max(0, Math.min(list.length - 1, current + step));
      list.forEach(function (row, index) {
        row.classList.toggle("current", index === current);
        row.setAttribute("aria-current", index === current ? "true" : "false");
      });
      const link = list[current].querySelector("a");
      if (link) link.focus({ preventScroll: false });
    }

    function highlighted() { return rows()[current]; }

    function toggle() {
      const row = highlighted();
      const box = row && row.querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; refreshBulk(); }
    }

    function bulk(action) {
      return function () {
        if (!selected().length) toggle();
        const button = form.querySelector("button[name=action][value=" + action + "]");
        if (button && !button.disabled) button.click();
      };
    }

    function open() {
      const row = highlighted();
      const link = row && row.querySelector("a");
      if (link) link.click();
    }

    if (selectAll) {
      selectAll.addEventListener("change", function () {
        boxes().forEach(function (box) { if (box) box.checked = selectAll.checked; });
        refreshBulk();
      });
    }
    document.addEventListener("change", function (event) {
      if (event.target.matches && event.target.matches("input[name=ticket]")) refreshBulk();
    });
    new MutationObserver(refreshBulk).observe(table.querySelector("tbody"), { childList: true });
    refreshBulk();
    onKeys({ j: function () { move(1); }, k: function () { move(-1); }, o: open, Enter: open, x: toggle,
             c: bulk("claim"), r: bulk("resolve"), "/": focus("search"), "?": help });
  };
})(window.Dallosh);
