// The KPI charts, drawn with the Chart.js the project serves (static/vendor/chartjs).
// The data comes from the page itself (json_script), so charts and tables always agree.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("kpi-data").textContent);
  const charts = {};
  const palette = ["#2454d6", "#b42318", "#067647", "#c4320a", "#6941c6", "#5b6475", "#0e9384"];

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) charts[id.replace("chart-", "")] = new Chart(canvas, config);
  }
  function share(id, counts) {
    draw(id, { type: "doughnut", data: { labels: Object.keys(counts),
      datasets: [{ data: Object.values(counts), backgroundColor: palette }] },
      options: { animation: false, aspectRatio: 2, plugins: { legend: { position: "right" } } } });
  }

  draw("chart-volume", { type: "line", data: { labels: data.labels, datasets: [
    { label: "tickets analysed", data: data.tickets, borderColor: palette[0] },
    { label: "customer tweets", data: data.customer, borderColor: palette[2] },
    { label: "brand tweets", data: data.brand, borderColor: palette[5] }] },
    options: { animation: false, scales: { y: { beginAtZero: true } } } });
  share("chart-topics", data.topics);
  share("chart-sentiments", data.sentiments);
  draw("chart-negative", { type: "line", data: { labels: data.labels, datasets: [
    { label: "negative %", data: data.negative, borderColor: palette[1], spanGaps: true }] },
    options: { animation: false, scales: { y: { min: 0, max: 100 } } } });
  draw("chart-urgencies", { type: "bar", data: { labels: Object.keys(data.urgencies), datasets: [
    { label: "tickets", data: Object.values(data.urgencies), backgroundColor: [palette[1], palette[3], palette[5]] }] },
    options: { animation: false, plugins: { legend: { display: false } } } });
  const statuses = ["new", "in progress", "waiting on customer"];
  draw("chart-backlog", { type: "bar", data: { labels: Object.keys(data.backlog), datasets: statuses.map(
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
      ["headline", "table-topics", "table-sentiments", "table-urgencies", "table-providers", "table-cost"]
        .forEach(function (id) {
          const now = document.getElementById(id), next = fresh.getElementById(id);
          if (now && next) now.innerHTML = next.innerHTML;
        });
      const next = JSON.parse(fresh.getElementById("kpi-data").textContent);
      update(charts.volume, next.labels, [next.tickets, next.customer, next.brand]);
      update(charts.topics, Object.keys(next.topics), [Object.values(next.topics)]);
      update(charts.sentiments, Object.keys(next.sentiments), [Object.values(next.sentiments)]);
      update(charts.negative, next.labels, [next.negative]);
      update(charts.urgencies, Object.keys(next.urgencies), [Object.values(next.urgencies)]);
      document.body.dataset.kpiRefreshes = String(Number(document.body.dataset.kpiRefreshes || 0) + 1);
    });
  }
  function update(chart, labels, series) {
    if (!chart) return;
    chart.data.labels = labels;
    series.forEach(function (values, index) { chart.data.datasets[index].data = values; });
    chart.update();
  }
  Dallosh.connect("/ws/kpis/", function () {
    if (!pending) pending = setTimeout(refresh, REFRESH_AFTER_MS);
  }, refresh, true);
})();
