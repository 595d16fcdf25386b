/* Staffing pages: select all found volunteers, auto-apply board filters, print the sign-in sheet. */
(function () {
  "use strict";

  // "Select all on this page" ticks every free checkbox of the results table it names.
  document.querySelectorAll("button.select-all").forEach(function (button) {
    button.addEventListener("click", function () {
      var table = document.getElementById(button.dataset.target);
      if (!table) { return; }
      var boxes = table.querySelectorAll("input[type=checkbox][name=volunteer_ids]");
      var allChecked = Array.prototype.every.call(boxes, function (box) { return box.checked; });
      boxes.forEach(function (box) { box.checked = !allChecked; });
    });
  });

  // Board filters apply as soon as they change (the button stays for browsers without JS).
  var filters = document.querySelector("form.board-filters");
  if (filters) {
    filters.querySelectorAll("select, input[type=checkbox]").forEach(function (input) {
      input.addEventListener("change", function () { filters.submit(); });
    });
  }

  // Ticking an override rule moves the focus to the reason it needs.
  document.querySelectorAll("details.override").forEach(function (details) {
    var reason = details.querySelector("textarea");
    details.querySelectorAll("input[name=override_rules]").forEach(function (box) {
      box.addEventListener("change", function () {
        if (box.checked && reason && !reason.value.trim()) { reason.required = true; reason.focus(); }
      });
    });
  });

  document.querySelectorAll("button.print-page").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
