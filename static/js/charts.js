/* Charts of verified hours (Chart.js, vendored in static/vendor/chart.js). Loaded from static/ (CSP: no inline scripts).
 *
 * <canvas data-chart='{"type":"bar","label":..,"labels":[..],"values":[..]}'>  draws the data given;
 * <canvas data-chart-src="/hours/my-year.json?year=2026">                      fetches the same shape first.
 * <form data-progress="Computing…">                                           shows a progress line while the
 *                                                                              next page is computed.
 */
(function () {
  "use strict";

  var RED = "#c62828";

  function draw(canvas, data) {
    if (typeof Chart === "undefined" || !data || !data.labels) { return; }
    // eslint-disable-next-line no-new
    new Chart(canvas, {
      type: data.type || "bar",
      data: {
        labels: data.labels,
        datasets: [{ label: data.label || "", data: data.values, backgroundColor: RED, borderColor: RED }]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
    var box = canvas.closest("section");
    var total = box && box.querySelector("[data-chart-total]");
    if (total && typeof data.total_hours !== "undefined") {
      total.textContent = total.dataset.chartTotal.replace("__HOURS__", data.total_hours);
    }
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    try {
      draw(canvas, JSON.parse(canvas.dataset.chart));
    } catch (e) {
      canvas.replaceWith(document.createTextNode(""));
    }
  });

  document.querySelectorAll("canvas[data-chart-src]").forEach(function (canvas) {
    fetch(canvas.dataset.chartSrc, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { draw(canvas, data); } })
      .catch(function () { /* the page stays usable without its chart */ });
  });

  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var line = form.querySelector(".report-progress");
      var button = form.querySelector("button[type=submit]");
      if (line) {
        line.querySelector(".report-progress-text").textContent = form.dataset.progress;
        line.classList.remove("hidden");
      }
      if (button) { button.disabled = true; }
    });
  });
})();
