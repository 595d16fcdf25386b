/* Event pages. Loaded from static/ (CSP: no inline scripts). */
(function () {
  "use strict";

  // "All" / "None" buttons for a group of checkboxes: <button data-check-all="field_name">.
  function setChecks(name, checked) {
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      box.checked = checked;
    });
  }
  document.querySelectorAll("[data-check-all]").forEach(function (button) {
    button.addEventListener("click", function () { setChecks(button.dataset.checkAll, true); });
  });
  document.querySelectorAll("[data-check-none]").forEach(function (button) {
    button.addEventListener("click", function () { setChecks(button.dataset.checkNone, false); });
  });

  // Event form: the "grants a credential" part applies to training courses only.
  var kind = document.querySelector("select[data-kind-select]");
  var kindOnly = document.querySelectorAll("[data-kind-only]");
  function showForKind() {
    kindOnly.forEach(function (part) {
      var applies = kind.value === part.dataset.kindOnly;
      part.classList.toggle("hidden", !applies);
      if (!applies) {
        part.querySelectorAll("select").forEach(function (select) { select.value = ""; });
      }
    });
  }
  if (kind && kindOnly.length) {
    kind.addEventListener("change", showForKind);
    showForKind();
  }

  // After a preview, bring it into view.
  var preview = document.getElementById("preview");
  if (preview && preview.scrollIntoView) { preview.scrollIntoView({ block: "start" }); }
})();
