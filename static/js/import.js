/* Volunteer import result page: poll the job's progress until it is done, then reload. */
(function () {
  "use strict";

  var box = document.getElementById("import-progress");
  if (!box || !window.fetch) { return; }
  var url = box.dataset.progressUrl;
  var bar = box.querySelector("progress");
  var failures = 0;
  var interval = 1000;

  function show(data) {
    if (bar) {
      if (data.percent === null || data.percent === undefined) {
        bar.removeAttribute("value");
      } else {
        bar.value = data.percent;
        bar.textContent = data.percent + "%";
      }
    }
    document.querySelectorAll("[data-count]").forEach(function (el) {
      var value = data[el.dataset.count];
      if (value !== undefined && value !== null) { el.textContent = String(value); }
    });
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        show(data);
        if (data.done) {
          window.location.reload();
        } else {
          window.setTimeout(poll, interval);
        }
      })
      .catch(function () {
        failures += 1;
        if (failures < 30) { window.setTimeout(poll, interval * Math.min(failures + 1, 10)); }
      });
  }

  window.setTimeout(poll, interval);
})();
