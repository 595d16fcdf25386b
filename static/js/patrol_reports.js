/* Patrol reports: fill a finding's latitude and longitude from the phone's position ("Use my position"). */
(function () {
  "use strict";
  if (!("geolocation" in navigator)) {
    return;
  }
  document.querySelectorAll("button.use-position").forEach(function (button) {
    var lat = document.getElementById(button.dataset.lat);
    var lon = document.getElementById(button.dataset.lon);
    var status = button.parentElement.querySelector(".position-status");
    if (!lat || !lon) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      if (status) { status.textContent = button.dataset.locating; }
      navigator.geolocation.getCurrentPosition(function (position) {
        lat.value = position.coords.latitude.toFixed(6);
        lon.value = position.coords.longitude.toFixed(6);
        if (status) { status.textContent = ""; }
        button.disabled = false;
      }, function () {
        if (status) { status.textContent = button.dataset.failed; }
        button.disabled = false;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  });
}());
