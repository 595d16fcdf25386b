/* Service-hours pages: the year picker submits itself; "choose all" boxes tick a table's rows. */
(function () {
  "use strict";

  document.querySelectorAll("select.auto-submit").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  document.querySelectorAll("input.check-all").forEach(function (box) {
    box.addEventListener("change", function () {
      var table = document.getElementById(box.dataset.table);
      if (!table) { return; }
      table.querySelectorAll("tbody input[type=checkbox]").forEach(function (row) { row.checked = box.checked; });
    });
  });
})();
