// The 30-day chart from the keyboard: one tab stop; the arrow keys, Home and End move from
// day to day (a "roving tabindex"), and the focused day shows and says its amount.
// Without this script every day is a tab stop of its own.
(function () {
  "use strict";
  var chart = document.getElementById("daychart");
  if (!chart) return;
  var bars = Array.prototype.slice.call(chart.querySelectorAll(".daychart-bar"));
  if (!bars.length) return;
  bars.forEach(function (bar, n) { bar.tabIndex = n === bars.length - 1 ? 0 : -1; });

  chart.addEventListener("keydown", function (event) {
    var at = bars.indexOf(document.activeElement);
    if (at < 0) return;
    var to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: bars.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    to = Math.max(0, Math.min(bars.length - 1, to));
    bars[at].tabIndex = -1;
    bars[to].tabIndex = 0;
    bars[to].focus();
  });
})();
