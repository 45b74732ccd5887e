// What the dashboard's charts share (app.js draws the overview's, lines.js those of compare and
// traffic): a count axis whose labels are whole, short and never clipped, and an x range that
// puts a lone point in the middle of the chart. Loaded before them; defines window.linkbackAxes.
(function () {
  "use strict";
  // Counts are whole: the y axis steps by 1, 2, 5, 10, 20, 50 ...
  var WHOLE = [];
  for (var step = 1; step < 1e15; step *= 10) WHOLE.push(step, 2 * step, 5 * step);
  var UNITS = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]];
  var DAY = 86400;
  // A period's length in seconds, as the charts' data names it (a month or more: its longest).
  var PERIODS = { day: DAY, week: 7 * DAY, month: 31 * DAY, quarter: 92 * DAY, year: 366 * DAY };

  // A count as a person reads it: 1,234,567 (the sign is the chart's to say).
  function number(v) { return v == null ? "–" : Math.abs(v).toLocaleString("en"); }

  // A tick's label when the axis reaches a million: 1.2M, 350K, 12.05B in its largest unit, never
  // rounded (a value that unit does not write exactly with up to three decimals is written whole).
  function compact(v) {
    var a = Math.abs(v);
    for (var i = 0; i < UNITS.length; i++) {
      var u = UNITS[i][0], thousandths = a / u * 1000;
      if (a < u) continue;
      if (Math.abs(thousandths - Math.round(thousandths)) > 1e-6) break;
      return (Math.round(thousandths) / 1000).toLocaleString("en", { maximumFractionDigits: 3 }) + UNITS[i][1];
    }
    return number(v);
  }

  function labels(u, vals) {
    var most = 0;
    vals.forEach(function (v) { most = Math.max(most, Math.abs(v || 0)); });
    return vals.map(most >= 1e6 ? compact : number);
  }

  // The gutter the widest label needs, measured in the axis's own font (uPlot asks again when the
  // labels change; the third time it keeps what it has, so the layout settles).
  function gutter(u, values, axisIdx, cycleNum) {
    var axis = u.axes[axisIdx];
    if (cycleNum > 1 && axis._size) return axis._size;
    var ratio = uPlot.pxRatio || window.devicePixelRatio || 1, widest = 0;
    u.ctx.font = axis.font && axis.font[0] ? axis.font[0] : Math.round(12 * ratio) + "px system-ui, sans-serif";
    (values || []).forEach(function (text) {
      if (text != null) widest = Math.max(widest, u.ctx.measureText(String(text)).width / ratio);
    });
    return Math.ceil(widest + (axis.ticks && axis.ticks.show !== false ? axis.ticks.size : 0) + axis.gap + 4);
  }

  // The y axis of counts, after ``base`` (its colours).
  function counts(base) {
    return Object.assign({}, base, { size: gutter, incrs: WHOLE, values: labels });
  }

  // The steps of a time axis whose points are days (uPlot's own, from a day up: a month is 30 days
  // to it, a year 365), so a chart of a day or two is not ticked by the hour.
  var DATES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 30, 60, 90, 120, 180, 365, 730, 1825, 3650, 9125, 18250, 36500]
    .map(function (days) { return days * DAY; });

  // The x axis of dates, after ``base`` (its colours).
  function dates(base) {
    return Object.assign({}, base, { incrs: DATES });
  }

  // An x scale's range: the data's, or for a single point ``pad`` seconds either side of it (uPlot
  // would stretch one timestamp to a thousand days after it, the point on the left edge).
  function around(pad) {
    return function (u, lo, hi) {
      var xs = u.data && u.data[0];
      if (xs && xs.length && xs[0] === xs[xs.length - 1]) return [xs[0] - pad, xs[0] + pad];
      return [lo, hi];
    };
  }

  window.linkbackAxes = { DAY: DAY, PERIODS: PERIODS, number: number, compact: compact, counts: counts, dates: dates, around: around };
})();
