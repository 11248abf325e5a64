/* wanqi-web: draws the charts from the page's JSON block, and the print button.
   Chart.js is Debian's libjs-chart.js, served from /static/chart.min.js. */
(function () {
  "use strict";
  var colors = ["#0b5d3b", "#3e8ed0", "#d64545", "#f0b429"];
  function draw(id, spec, type) {
    var el = document.getElementById(id);
    if (!el || !spec || !window.Chart) return;
    var sets = spec.datasets.map(function (d, i) {
      return { label: d.label, data: d.data, backgroundColor: colors[i % 4],
               borderColor: colors[i % 4], fill: false, tension: 0 };
    });
    new window.Chart(el, { type: type, data: { labels: spec.labels, datasets: sets },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { legend: { position: "bottom" } } } });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var block = document.getElementById("chart-data");
    if (block) {
      var data = JSON.parse(block.textContent || "{}");
      draw("chart-areas", data.areas, "bar");
      draw("chart-months", data.months, "line");
    }
    var p = document.getElementById("print");
    if (p) p.addEventListener("click", function () { window.print(); });
    document.body.setAttribute("data-ready", "1");
  });
})();
