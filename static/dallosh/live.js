// Live queues and ticket pages over websockets. Events only say which ticket changed and
// where it sits; rows and panels are fetched again from the server (one template renders
// them), and a reconnecting socket re-reads the whole view, so nothing missed while the
// socket was down stays missed.
window.Dallosh = (function () {
  "use strict";
  const sockets = [];

  function setState(text) {
    const el = document.getElementById("live-state");
    if (!el) return;
    el.textContent = text;
    el.dataset.state = text;
    el.classList.toggle("down", text !== "live");
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

  function liveTicket(panel) {
    const id = panel.dataset.ticket;
    function refresh() {
      fetch("?partial=state", { credentials: "same-origin" }).then(function (response) {
        if (response.status === 404) {
          panel.innerHTML = "<p class='card error'>This ticket has left your queues.</p>";
          return;
        }
        return response.ok ? response.text().then(function (html) { panel.innerHTML = html; }) : null;
      });
    }
    return connect("/ws/tickets/" + encodeURIComponent(id) + "/", refresh, refresh);
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

  return { connect: connect, liveQueue: liveQueue, liveTicket: liveTicket, liveAlerts: liveAlerts, sockets: sockets };
})();
