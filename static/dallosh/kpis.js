// The KPI charts, drawn with the Chart.js the project serves (static/vendor/chartjs).
// The data comes from the page itself (json_script), so charts and tables always agree.
// Sentiments wear the colours the page gives (data.sentiment_colours), and no other series
// uses them, so red always means negative.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("kpi-data").textContent);
  const names = data.names;
  // Django's JavaScript catalog (/jsi18n/) translates; without it, the English stays.
  const gettext = window.gettext || function (text) { return text; };
  const charts = {};
  const palette = ["#2454d6", "#6941c6", "#0e9384", "#c4320a", "#f79009", "#5b6475", "#1d2433"];
  const urgencyColours = { high: "#c4320a", medium: "#f79009", low: "#5b6475" };

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) charts[id.replace("chart-", "")] = new Chart(canvas, config);
  }
  function coloured(labels, colours) {
    return labels.map(function (label, index) { return colours[label] || palette[index % palette.length]; });
  }
  // A vocabulary value as the reader says it (data.value_names, from the server, names only
  // those that read differently in the page's language); colours stay keyed by the value.
  function shown(values, names) {
    return values.map(function (value) { return (names || data.value_names || {})[value] || value; });
  }
  function share(id, counts, colours) {
    const labels = Object.keys(counts);
    draw(id, { type: "doughnut", data: { labels: shown(labels),
      datasets: [{ data: Object.values(counts), backgroundColor: coloured(labels, colours || {}) }] },
      options: { animation: false, aspectRatio: 2, plugins: { legend: { position: "right" } } } });
  }

  draw("chart-volume", { type: "line", data: { labels: data.labels, datasets: [
    { label: names.tickets, data: data.tickets, borderColor: palette[0], backgroundColor: palette[0] },
    { label: names.customer, data: data.customer, borderColor: palette[1], backgroundColor: palette[1] },
    { label: names.brand, data: data.brand, borderColor: palette[2], backgroundColor: palette[2] }] },
    options: { animation: false, scales: { y: { beginAtZero: true } } } });
  share("chart-topics", data.topics);
  share("chart-sentiments", data.sentiments, data.sentiment_colours);
  // Bars, not a line: a day with tickets shows even when its neighbours have none.
  draw("chart-negative", { type: "bar", data: { labels: data.labels, datasets: [
    { label: names.negative, data: data.negative, backgroundColor: data.sentiment_colours.negative } ] },
    options: { animation: false, scales: { y: { min: 0, max: 100 } } } });
  const urgencies = Object.keys(data.urgencies);
  draw("chart-urgencies", { type: "bar", data: { labels: shown(urgencies), datasets: [
    { label: names.count, data: Object.values(data.urgencies), backgroundColor: coloured(urgencies, urgencyColours) }] },
    options: { animation: false, plugins: { legend: { display: false } } } });
  draw("chart-backlog", { type: "bar", data: { labels: shown(Object.keys(data.backlog)), datasets: data.backlog_statuses.map(
    function (status, index) { return { label: status, backgroundColor: palette[index],
      data: Object.values(data.backlog).map(function (counts) { return counts[index]; }) }; }) },
    options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } });
  window.DalloshCharts = charts;

  // Live: ticket changes move the figures; re-read the page at most every few seconds and
  // put its new numbers into the charts and tables in place.
  const REFRESH_AFTER_MS = 3000;
  let pending = null;
  function refresh() {
    pending = null;
    fetch(location.href, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (!html) return;
      const fresh = new DOMParser().parseFromString(html, "text/html");
      ["headline", "table-topics", "table-sentiments", "table-urgencies", "table-providers", "table-cost",
       "table-agreement"].forEach(function (id) {
        const now = document.getElementById(id), next = fresh.getElementById(id);
        if (now && next) now.innerHTML = next.innerHTML;
      });
      const next = JSON.parse(fresh.getElementById("kpi-data").textContent);
      update(charts.volume, next.labels, [next.tickets, next.customer, next.brand]);
      update(charts.topics, Object.keys(next.topics), [Object.values(next.topics)], {}, next.value_names);
      update(charts.sentiments, Object.keys(next.sentiments), [Object.values(next.sentiments)],
             next.sentiment_colours, next.value_names);
      update(charts.negative, next.labels, [next.negative]);
      update(charts.urgencies, Object.keys(next.urgencies), [Object.values(next.urgencies)], urgencyColours,
             next.value_names);
      document.body.dataset.kpiRefreshes = String(Number(document.body.dataset.kpiRefreshes || 0) + 1);
    });
  }
  // `colours`: recolour the slices or bars by value, as their order may have changed;
  // `names`: the values as the reader says them (vocabulary charts only).
  function update(chart, labels, series, colours, names) {
    if (!chart) return;
    chart.data.labels = names ? shown(labels, names) : labels;
    series.forEach(function (values, index) { chart.data.datasets[index].data = values; });
    if (colours) chart.data.datasets[0].backgroundColor = coloured(labels, colours);
    chart.update();
  }
  Dallosh.connect("/ws/kpis/", function () {
    if (!pending) pending = setTimeout(refresh, REFRESH_AFTER_MS);
  }, refresh, true);
})();
