// Live queues and ticket pages over websockets. Events only say which ticket changed and
// where it sits; rows and panels are fetched again from the server (one template renders
// them), and a reconnecting socket re-reads the whole view, so nothing missed while the
// socket was down stays missed.
window.Dallosh = (function () {
  "use strict";
  const sockets = [];
  // Django's JavaScript catalog (/jsi18n/) translates; without it, the English stays.
  const gettext = window.gettext || function (text) { return text; };
  const fill = window.interpolate || function (text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return values[name]; });
  };

  // #live-state names its states in the page's language (data-say-<state>); data-state keeps
  // the state's own name for scripts and tests.
  function setState(state) {
    const el = document.getElementById("live-state");
    if (!el) return;
    const key = "say" + state.replace(/(^| )(\w)/g, function (_, space, letter) { return letter.toUpperCase(); });
    el.textContent = el.dataset[key] || state;
    el.dataset.state = state;
    el.classList.toggle("down", state !== "live");
  }

  // A websocket that reconnects with backoff (not after a 4403 refusal) and calls onResync
  // once it is back. The page's own view socket (quiet false) shows its state in #live-state.
  function connect(path, onEvent, onResync, quiet) {
    let delay = 500, everOpened = false;
    const holder = { ws: null };
    function open() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(scheme + "://" + location.host + path);
      holder.ws = ws;
      ws.onopen = function () {
        if (!quiet) setState("live");
        delay = 500;
        if (everOpened) onResync();
        everOpened = true;
      };
      ws.onmessage = function (message) { onEvent(JSON.parse(message.data)); };
      ws.onclose = function (event) {
        if (event.code === 4403) { if (!quiet) setState("not allowed"); return; }
        if (!quiet) setState("reconnecting");
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
      };
    }
    open();
    if (!quiet) sockets.push(holder);
    return holder;
  }

  function parseRows(html) {
    const table = document.createElement("table");
    table.innerHTML = "<tbody>" + html + "</tbody>";
    return Array.from(table.querySelectorAll("tr[data-id]"));
  }

  function liveQueue(table) {
    const team = table.dataset.team;
    const body = table.querySelector("tbody");
    const viewQuery = location.search.replace(/^\?/, "");

    function rowOf(id) {
      return Array.from(body.querySelectorAll("tr[data-id]")).find(function (tr) { return tr.dataset.id === id; });
    }

    function place(row) {
      const current = rowOf(row.dataset.id);
      if (current && Number(current.dataset.version) > Number(row.dataset.version)) return;
      if (current) current.remove();
      const next = Array.from(body.querySelectorAll("tr[data-id]")).find(function (tr) { return tr.dataset.key > row.dataset.key; });
      if (next) body.insertBefore(row, next);
      else if (table.dataset.hasMore !== "1") body.appendChild(row);
      else return;  // it sorts after this page: the next page will show it
      row.classList.add("flash");
      const empty = document.getElementById("queue-empty");
      if (empty) empty.remove();
    }

    function onEvent(event) {
      const current = rowOf(event.id);
      if (current && Number(current.dataset.version) >= event.version) return;
      const url = "/queues/" + encodeURIComponent(team) + "/rows/" + encodeURIComponent(event.id) + "/?" +
        table.dataset.query;
      fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (response.status === 204) {
          const gone = rowOf(event.id);
          if (gone) gone.remove();
          return null;
        }
        return response.ok ? response.text() : null;
      }).then(function (html) {
        if (html) parseRows(html).forEach(place);
      });
    }

    function resync() {
      fetch("?" + viewQuery + (viewQuery ? "&" : "") + "partial=rows", { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          body.replaceChildren.apply(body, parseRows(html));
          table.dataset.resyncs = String(Number(table.dataset.resyncs || 0) + 1);
        });
    }

    return connect("/ws/queues/" + encodeURIComponent(team) + "/", onEvent, resync);
  }

  // The ticket page's live parts ([data-live-part]: head, thread, notes, activity, side) are
  // re-rendered by the server and replaced in place; the reply and note boxes are not parts,
  // so what the agent is typing survives every refresh.
  function liveTicket(panel) {
    const id = panel.dataset.ticket;
    function refresh() {
      fetch("?partial=state", { credentials: "same-origin" }).then(function (response) {
        if (response.status === 404) {
          panel.innerHTML = "<p class='card error'>" + gettext("This ticket has left your queues.") +
            "</p>";
          return;
        }
        return response.ok ? response.text().then(replaceParts) : null;
      });
    }
    function replaceParts(html) {
      const fresh = new DOMParser().parseFromString(html, "text/html");
      document.querySelectorAll("[data-live-part]").forEach(function (part) {
        const next = fresh.getElementById(part.id);
        if (next) part.innerHTML = next.innerHTML;
      });
      panel.dataset.refreshes = String(Number(panel.dataset.refreshes || 0) + 1);
    }
    function onEvent(event) {
      if (event.draft) {  // the agent's own reply draft moved on: liveDraft reads it
        document.dispatchEvent(new CustomEvent("dallosh:draft", { detail: event }));
        return;
      }
      refresh();
    }
    return connect("/ws/tickets/" + encodeURIComponent(id) + "/", onEvent, refresh);
  }

  // The agent's reply draft on a ticket page. A refine worker writes it: the page asks for it
  // (202), shows "Drafting…", and reads the draft from its status endpoint when the ticket's
  // socket says it moved on, or every few seconds while it is in flight (a missed event, a
  // socket down). A draft fills the reply box once, and never over what the agent typed.
  function liveDraft(source) {
    if (!source) return;  // no reply box: the ticket is closed, or not this user's to answer
    const form = document.getElementById("draft-form");
    const box = document.getElementById("reply-text");
    let filledText = box.value, filledId = source.dataset.status === "ready" ? source.dataset.draft : "";
    let timer = null;

    function say(text, state) {
      source.textContent = text;
      source.dataset.status = state;
    }

    function render(draft) {
      if (!draft) return;
      source.dataset.draft = draft.id;
      if (draft.status === "queued" || draft.status === "writing") {
        say(gettext("Drafting…"), draft.status);
        if (timer === null) timer = setInterval(check, 3000);
        return;
      }
      if (timer !== null) { clearInterval(timer); timer = null; }
      if (draft.status === "failed") {
        say(fill(gettext("The draft could not be written (%(error)s). Ask again, or write the reply yourself."),
                 { error: draft.error }, true), "failed");
        return;
      }
      let line = fill(gettext("Draft by %(provider)s"), { provider: draft.provider }, true) +
        (draft.model ? " / " + draft.model : "") +
        (draft.problems.length ? " (" + gettext("refused before") + ": " + draft.problems.join("; ") + ")" : "") +
        ": " + gettext("edit it before recording.");
      if (filledId !== draft.id) {
        if (box.value.trim() === "" || box.value === filledText) {
          box.value = draft.text;
          filledText = draft.text;
        } else {
          line += " " + gettext("Your own text was kept in the box; the draft reads:") + " " + draft.text;
        }
        filledId = draft.id;
      }
      say(line, "ready");
    }

    function check() {
      fetch(source.dataset.url, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) { if (body) render(body.draft); })
        .catch(function () {});
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      say(gettext("Drafting…"), "queued");
      fetch(form.action, {
        method: "POST", credentials: "same-origin",
        headers: { "Accept": "application/json",
                   "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
      }).then(function (response) {
        return response.json().then(function (body) {
          if (response.status === 202) render(body.draft);
          else say(body.error || gettext("The draft could not be asked for."), "refused");
        });
      }).catch(function () { say(gettext("The draft could not be asked for (connection lost); try again."), "refused"); });
    });

    if (source.dataset.status === "queued" || source.dataset.status === "writing") {
      timer = setInterval(check, 3000);
    }
    document.addEventListener("dallosh:draft", check);  // relayed by liveTicket's socket
  }

  // Open alerts this user hears of, above every page; refreshed when one is raised or closed.
  function liveAlerts(panel) {
    function refresh() {
      fetch(panel.dataset.url, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null) panel.innerHTML = html; });
    }
    refresh();
    return connect("/ws/alerts/", refresh, refresh, true);
  }

  return { connect: connect, liveQueue: liveQueue, liveTicket: liveTicket, liveDraft: liveDraft, liveAlerts: liveAlerts,
           sockets: sockets };
})();
