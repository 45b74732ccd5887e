// Line charts of several series (compare's referring domains per target, traffic's visits per
// referring domain), drawn from the JSON the page carries (no inline script). Each line has its
// own dash pattern as well as its colour, the same as the page's legend above the chart, so the
// lines are told apart without colour; a table under the chart holds the same numbers.
(function () {
  "use strict";
  // Keep in step with app.css's ".legend line.sN" rules.
  var DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4], [12, 4, 4, 4], [1, 4], [6, 2], [14, 4], [3, 6]];
  var axes = window.linkbackAxes; // axes.js, loaded before this script
  if (!axes) return;
  var number = axes.number;

  function seconds(iso) { return Date.parse(iso + "T00:00:00Z") / 1000; }
  function sized(holder) { return { width: Math.max(260, holder.clientWidth), height: holder.classList.contains("small") ? 200 : 260 }; }

  function draw(holder, data) {
    var style = getComputedStyle(document.documentElement);
    var css = function (name) { return style.getPropertyValue(name).trim(); };
    var axis = { stroke: css("--dim"), grid: { stroke: css("--line"), width: 1 }, ticks: { stroke: css("--line"), width: 1 } };
    var series = [{ label: "Period" }];
    var values = [data.x.map(seconds)];
    data.series.forEach(function (s, i) {
      series.push({
        label: s.label, stroke: css("--s" + (i % DASHES.length)) || css("--accent"), width: 2,
        dash: DASHES[i % DASHES.length], points: { show: data.x.length < 3 }, value: function (u, v) { return number(v); }
      });
      values.push(s.values);
    });
    // One period alone sits in the middle, a period of room either side (not at the edge of years).
    var pad = axes.PERIODS[data.step] || axes.PERIODS.week;
    var opts = Object.assign(sized(holder), {
      scales: { x: { time: true, range: axes.around(pad) } },
      axes: [axes.dates(axis), axes.counts(axis)],
      series: series
    });
    return new uPlot(opts, values, holder);
  }

  var source = document.getElementById("lines-data"), holder = document.getElementById("lines");
  if (!source || !holder || typeof uPlot === "undefined") return;
  var data = JSON.parse(source.textContent || "{}");
  if (!data.x || !data.x.length) { holder.textContent = "Nothing to draw in this period."; return; }
  var plot = draw(holder, data);
  window.addEventListener("resize", function () { plot.setSize(sized(holder)); });
})();
