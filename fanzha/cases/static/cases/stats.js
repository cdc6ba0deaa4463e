/* Case statistics charts: cases and loss by month (this year beside last year), by fraud type and
   by child unit, drawn with the vendored ECharts (reports/vendor) from the page's JSON data island
   (#case-stats-data). No data is fetched. */
(function () {
  "use strict";
  var island = document.getElementById("case-stats-data");
  if (!island || !window.echarts) {
    return;
  }
  var data = JSON.parse(island.textContent);
  var palette = ["#14325c", "#9fb3cc", "#b3261e", "#e8a09a", "#2f7d4f", "#d49a00", "#5b6b7f", "#2a6f97", "#8e5bb5", "#c26a2e", "#3f8f8f", "#7a7a2e"];
  var charts = [];
  var L = data.labels;

  function money(v) {
    return v === null || v === undefined ? "—" : Number(v).toLocaleString(undefined, { maximumFractionDigits: 2 });
  }

  function months(node) {
    var chart = echarts.init(node);
    chart.setOption({
      color: palette,
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 8, bottom: 8, top: 64, containLabel: true },
      xAxis: { type: "category", data: data.months },
      yAxis: [
        { type: "value", name: L.cases, minInterval: 1 },
        { type: "value", name: L.loss, axisLabel: { formatter: money }, splitLine: { show: false } }
      ],
      series: [
        { name: L.this + " " + L.cases, type: "bar", data: data.this.cases, barMaxWidth: 18 },
        { name: L.last + " " + L.cases, type: "bar", data: data.last.cases, barMaxWidth: 18 },
        { name: L.this + " " + L.loss, type: "line", yAxisIndex: 1, data: data.this.loss, tooltip: { valueFormatter: money } },
        { name: L.last + " " + L.loss, type: "line", yAxisIndex: 1, data: data.last.loss, lineStyle: { type: "dashed" }, tooltip: { valueFormatter: money } }
      ]
    });
    return chart;
  }

  function types(node) {
    var chart = echarts.init(node);
    chart.setOption({
      color: palette.slice(4).concat(palette.slice(0, 4)),
      tooltip: { trigger: "item", formatter: function (p) { return p.name + "：" + p.value + "（" + p.percent + "%）"; } },
      legend: { type: "scroll", bottom: 0 },
      series: [{
        name: L.cases,
        type: "pie",
        radius: ["35%", "65%"],
        center: ["50%", "45%"],
        data: data.types.map(function (t) { return { name: t.name, value: t.cases }; }),
        label: { formatter: "{c}", position: "inside", color: "#fff" },
        labelLine: { show: false }
      }]
    });
    return chart;
  }

  function units(node) {
    // Units without a case (a dormitory building, an office) say nothing in a chart; the table lists them.
    var rows = data.units.filter(function (u) { return u.cases > 0; });
    var names = rows.map(function (u) { return u.name; });
    var chart = echarts.init(node);
    chart.setOption({
      color: [palette[0], palette[2]],
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 8, bottom: names.length > 12 ? 48 : 8, top: 64, containLabel: true },
      xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 6 ? 30 : 0 } },
      yAxis: [
        { type: "value", name: L.cases, minInterval: 1 },
        { type: "value", name: L.loss, axisLabel: { formatter: money }, splitLine: { show: false } }
      ],
      dataZoom: names.length > 20 ? [{ type: "slider", start: 0, end: Math.max(10, 2000 / names.length) }] : [],
      series: [
        { name: L.cases, type: "bar", data: rows.map(function (u) { return u.cases; }), barMaxWidth: 28 },
        { name: L.loss, type: "bar", yAxisIndex: 1, data: rows.map(function (u) { return u.loss; }), barMaxWidth: 28, tooltip: { valueFormatter: money } }
      ]
    });
    return chart;
  }

  var node = document.getElementById("chart-months");
  if (node) {
    charts.push(months(node));
  }
  node = document.getElementById("chart-types");
  if (node && data.types.length) {
    charts.push(types(node));
  }
  node = document.getElementById("chart-units");
  if (node && data.units.some(function (u) { return u.cases > 0; })) {
    charts.push(units(node));
  }
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
