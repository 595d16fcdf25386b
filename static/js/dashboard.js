/* The live check-in dashboard (templates/checkin/dashboard.html): refreshed every ten seconds from
   its JSON endpoint (checkin.dashboard_data). Rows are rebuilt with textContent only. */
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var REFRESH_MS = 10000;
  var rows = document.getElementById("dashboard-rows");
  var handovers = document.getElementById("handover-list");
  var stale = document.getElementById("dashboard-stale");

  function cell(text, className, field) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    if (field) { td.dataset.field = field; }
    return td;
  }

  function span(text, field) {
    var element = document.createElement("span");
    element.textContent = String(text);
    element.dataset.field = field;
    return element;
  }

  function renderRows(data) {
    var fragment = document.createDocumentFragment();
    data.positions.forEach(function (position) {
      position.shifts.forEach(function (line, index) {
        var tr = document.createElement("tr");
        tr.className = "state-" + line.state + (line.handover_alert ? " alert" : "");
        tr.dataset.shiftId = String(line.id);
        tr.appendChild(cell(index === 0 ? position.name : ""));
        tr.appendChild(cell(line.label));
        var counts = document.createElement("td");
        counts.appendChild(span(line.checked_in, "checked_in"));
        counts.appendChild(document.createTextNode(" / "));
        counts.appendChild(span(line.expected, "expected"));
        tr.appendChild(counts);
        tr.appendChild(cell(String(line.on_site), "", "on_site"));
        tr.appendChild(cell(String(line.late), line.late ? "bad" : "", "late"));
        tr.appendChild(cell(String(line.no_shows), line.no_shows ? "bad" : "", "no_shows"));
        fragment.appendChild(tr);
      });
    });
    if (fragment.childNodes.length) {
      rows.replaceChildren(fragment);
    }
  }

  function renderHandovers(data) {
    var items = data.handovers.map(function (handover) {
      var li = document.createElement("li");
      li.className = "alert";
      li.textContent = root.dataset.labelHandover
        .replace("{position}", handover.position_name).replace("{current}", handover.current_label)
        .replace("{minutes}", String(handover.ends_in_minutes)).replace("{next}", handover.next_label);
      return li;
    });
    if (!items.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = root.dataset.labelNoHandovers;
      items.push(none);
    }
    handovers.replaceChildren.apply(handovers, items);
  }

  function renderTotals(data) {
    document.querySelectorAll("[data-total]").forEach(function (element) {
      var value = data.totals[element.dataset.total];
      if (value !== undefined) { element.textContent = String(value); }
    });
    document.getElementById("dashboard-updated").textContent = data.updated_label;
  }

  function refresh() {
    fetch(root.dataset.url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error("status"); } return response.json(); })
      .then(function (data) {
        renderRows(data);
        renderHandovers(data);
        renderTotals(data);
        stale.classList.add("hidden");
      })
      .catch(function () {
        stale.textContent = root.dataset.labelStale;
        stale.classList.remove("hidden");
      });
  }

  window.setInterval(refresh, REFRESH_MS);
})();
