/* Site-wide behaviour. Loaded from static/ (CSP: no inline scripts). */
(function () {
  "use strict";

  // Mobile navigation toggle.
  var toggle = document.querySelector(".menu-toggle");
  var nav = document.getElementById("mainnav");
  if (toggle && nav) {
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // Searchable organization picker: filters the options of the select it names.
  document.querySelectorAll("input.org-filter").forEach(function (input) {
    var select = document.getElementById(input.dataset.target);
    if (!select) { return; }
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      var firstVisible = null;
      Array.prototype.forEach.call(select.options, function (option) {
        var match = !needle || option.text.toLowerCase().indexOf(needle) !== -1;
        option.hidden = !match;
        if (match && !firstVisible) { firstVisible = option; }
      });
      if (firstVisible && select.selectedOptions.length && select.selectedOptions[0].hidden) {
        firstVisible.selected = true;
      }
    });
  });

  // Buttons that ask before they act: <button data-confirm="...">.
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (event) {
      if (!window.confirm(el.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
