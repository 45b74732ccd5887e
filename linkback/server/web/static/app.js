// The dashboard's one script: draws the charts from the JSON the page carries (no inline script).
(function () {
  "use strict";
  var holder = document.getElementById("chart");
  var source = document.getElementById("chart-data");
  if (!holder || !source || typeof uPlot === "undefined") return;
  var data = JSON.parse(source.textContent || "{}");
  var weeks = data.weeks || [];
  if (!weeks.length) { holder.textContent = "No new or lost referring domains yet."; return; }
  var xs = [], total = [], gained = [], lost = [];
  weeks.forEach(function (w) {
    xs.push(Date.parse(w[0] + "T00:00:00Z") / 1000); total.push(w[1]); gained.push(w[2]); lost.push(w[3]);
  });
  var style = getComputedStyle(document.documentElement);
  var colour = function (name) { return style.getPropertyValue(name).trim(); };
  var width = Math.max(280, holder.clientWidth);
  var opts = {
    width: width, height: 240,
    scales: { x: { time: true } },
    axes: [{ stroke: colour("--dim") }, { stroke: colour("--dim") }],
    series: [
      {},
      { label: "referring domains", stroke: colour("--accent"), width: 2 },
      { label: "new", stroke: colour("--good"), paths: uPlot.paths.bars({ size: [0.6, 40] }), fill: colour("--good") },
      { label: "lost", stroke: colour("--bad"), paths: uPlot.paths.bars({ size: [0.6, 40] }), fill: colour("--bad") }
    ]
  };
  var plot = new uPlot(opts, [xs, total, gained, lost], holder);
  window.addEventListener("resize", function () { plot.setSize({ width: Math.max(280, holder.clientWidth), height: 240 }); });
})();
