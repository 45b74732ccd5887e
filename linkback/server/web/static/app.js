// The dashboard's one script: draws the overview's charts from the JSON the page carries (no
// inline script, no eval) and makes its period form tidier. Everything works without it: the
// form submits as it is, and a table under the charts links to the same lists.
(function () {
  "use strict";
  var DAY = 86400;

  function periodForm() {
    var form = document.querySelector("form.periods");
    if (!form) return;
    var period = form.elements.period, dates = [form.elements.since, form.elements.until];
    dates.forEach(function (input) {
      input.addEventListener("change", function () { period.value = "custom"; });
    });
    // A named period keeps no dates in its URL, so its bookmark moves with the days.
    form.addEventListener("submit", function () {
      if (period.value !== "custom") dates.forEach(function (input) { input.disabled = true; });
    });
  }

  function seconds(iso) { return Date.parse(iso + "T00:00:00Z") / 1000; }
  function isoDay(s) { return new Date(s * 1000).toISOString().slice(0, 10); }
  function number(v) { return v == null ? "–" : Math.abs(v).toLocaleString("en"); }

  function colours() {
    var style = getComputedStyle(document.documentElement);
    var get = function (name) { return style.getPropertyValue(name).trim(); };
    return { dim: get("--dim"), line: get("--line"), accent: get("--accent"), good: get("--good"), bad: get("--bad") };
  }

  // The count axis (whole steps, a gutter as wide as its widest label: axes.js).
  function axes(c) {
    var axis = { stroke: c.dim, grid: { stroke: c.line, width: 1 }, ticks: { stroke: c.line, width: 1 } };
    return [window.linkbackAxes.dates(axis), window.linkbackAxes.counts(axis)];
  }

  function sized(holder) { return { width: Math.max(280, holder.clientWidth), height: 240 }; }

  function lineChart(holder, data, c) {
    var start = seconds(data.since), xs = [], now = data.now, before = [];
    var compareStart = data.compareSince ? seconds(data.compareSince) : null;
    for (var i = 0; i < now.length; i++) {
      xs.push(start + i * DAY);
      before.push(i < data.before.length ? data.before[i] : null);
    }
    var series = [{ label: "Day" }, { label: "this period", stroke: c.accent, width: 2, value: function (u, v) { return number(v); } }];
    var values = [xs, now];
    if (compareStart !== null) {
      series.push({
        label: "compared period", stroke: c.dim, width: 2, dash: [6, 4],
        // The comparison is drawn at the same day offset: the legend says which day it was.
        value: function (u, v, s, idx) { return v == null ? "–" : number(v) + " on " + isoDay(compareStart + idx * DAY); }
      });
      values.push(before);
    }
    // A period of one day: the point in the middle, a day either side.
    var x = { time: true, range: window.linkbackAxes.around(DAY) };
    var opts = Object.assign(sized(holder), { scales: { x: x }, axes: axes(c), series: series });
    return new uPlot(opts, values, holder);
  }

  function barChart(holder, data, c) {
    var periods = data.periods, xs = [], gained = [], lost = [];
    // No bar where nothing changed (null, not a flat bar at zero).
    periods.forEach(function (p) { xs.push(seconds(p[0])); gained.push(p[2] || null); lost.push(p[3] ? -p[3] : null); });
    var count = function (u, v) { return v == null ? "0" : number(v); };
    var bars = uPlot.paths.bars({ size: [0.7, 60] });
    // Half a period of room at each end, so the first and last bars are whole; a period alone sits
    // in the middle, a period of room either side (the range is the bars', not what uPlot makes of
    // one timestamp: a thousand days after it).
    var first = xs[0], last = xs[xs.length - 1];
    var pad = xs.length > 1 ? (last - first) / (xs.length - 1) / 2 : seconds(periods[0][1]) - first + DAY;
    var opts = Object.assign(sized(holder), {
      scales: { x: { time: true, range: function () { return [first - pad, last + pad]; } } },
      axes: axes(c),
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      series: [
        { label: "Period", value: function (u, v, s, idx) { return idx == null ? "–" : periods[idx][0] + (periods[idx][1] !== periods[idx][0] ? " to " + periods[idx][1] : ""); } },
        { label: "new", stroke: c.good, fill: c.good, paths: bars, points: { show: false }, value: count },
        { label: "lost", stroke: c.bad, fill: c.bad, paths: bars, points: { show: false }, value: count }
      ]
    });
    var plot = new uPlot(opts, [xs, gained, lost], holder);
    // A click on a bar lists its domains: new above the axis, lost below it.
    plot.over.addEventListener("click", function () {
      var idx = plot.cursor.idx;
      if (idx == null || plot.cursor.top == null) return;
      var change = plot.posToVal(plot.cursor.top, "y") >= 0 ? "new" : "lost";
      if ((change === "new" ? gained[idx] : lost[idx]) == null) return; // nothing to list
      var query = new URLSearchParams({ target: data.target, since: periods[idx][0], until: periods[idx][1], change: change });
      window.location.assign("/reports/churn?" + query.toString());
    });
    plot.over.style.cursor = "pointer";
    return plot;
  }

  function charts() {
    var source = document.getElementById("chart-data");
    if (!source || typeof uPlot === "undefined" || !window.linkbackAxes) return;
    var data = JSON.parse(source.textContent || "{}"), c = colours(), plots = [];
    var line = document.getElementById("chart"), changes = document.getElementById("bars");
    if (line) {
      if (data.now && data.now.length) plots.push([line, lineChart(line, data, c)]);
      else line.textContent = "No referring domains in this period.";
    }
    if (changes) {
      if (data.periods && data.periods.length) plots.push([changes, barChart(changes, data, c)]);
      var table = document.getElementById("changes");
      if (table) table.open = false; // the chart shows it; the table stays a click away
    }
    window.addEventListener("resize", function () {
      plots.forEach(function (p) { p[1].setSize(sized(p[0])); });
    });
  }

  periodForm();
  charts();
})();
