/* Dashboard charts: a bar chart of the child units and the weekly trend, drawn with the vendored
   ECharts from the page's JSON data island (#dashboard-data). No data is fetched. */
(function () {
  "use strict";
  var island = document.getElementById("dashboard-data");
  if (!island || !window.echarts) {
    return;
  }
  var data = JSON.parse(island.textContent);
  var palette = ["#14325c", "#2f7d4f", "#d49a00", "#b3261e", "#5b6b7f", "#2a6f97", "#8e5bb5", "#c26a2e", "#3f8f8f", "#7a7a2e"];
  var charts = [];

  function percentAxis() {
    return { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } };
  }

  function bars(node) {
    var keys = ["coverage", "compliance"].concat(data.items.map(function (i) { return i.key; }));
    var names = {};
    names.coverage = data.labels.coverage;
    names.compliance = data.labels.compliance;
    data.items.forEach(function (i) { names[i.key] = i.label; });
    var selected = {};
    keys.forEach(function (k) { selected[names[k]] = k === "coverage" || k === "compliance"; });
    var chart = echarts.init(node);
    chart.setOption({
      color: palette,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + "%"; } },
      legend: { type: "scroll", top: 0, selected: selected },
      grid: { left: 8, right: 8, bottom: data.units.length > 12 ? 48 : 8, top: 40, containLabel: true },
      xAxis: { type: "category", data: data.units, axisLabel: { interval: 0, rotate: data.units.length > 6 ? 30 : 0 } },
      yAxis: percentAxis(),
      dataZoom: data.units.length > 20 ? [{ type: "slider", start: 0, end: Math.max(10, 2000 / data.units.length) }] : [],
      series: keys.map(function (k) {
        return { name: names[k], type: "bar", data: data.bars[k], barMaxWidth: 28 };
      })
    });
    return chart;
  }

  function trend(node) {
    var chart = echarts.init(node);
    chart.setOption({
      color: palette.slice(2),
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + "%"; } },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 16, bottom: 8, top: 40, containLabel: true },
      xAxis: { type: "category", boundaryGap: false, data: data.weeks },
      yAxis: percentAxis(),
      series: data.items.map(function (i) {
        return { name: i.label, type: "line", data: data.trend[i.key], showSymbol: data.weeks.length < 30 };
      })
    });
    return chart;
  }

  var barNode = document.getElementById("chart-bars");
  if (barNode && data.units.length) {
    charts.push(bars(barNode));
  }
  var trendNode = document.getElementById("chart-trend");
  if (trendNode) {
    charts.push(trend(trendNode));
  }
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
