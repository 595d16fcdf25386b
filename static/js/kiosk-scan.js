/* The volunteer's phone after opening a kiosk code (templates/checkin/kiosk_check.html):
   ask for the position when the event checks it, then send the check-in (or check-out) at once.
   Without JavaScript the button does the same, without a position. */
(function () {
  "use strict";
  var root = document.getElementById("kiosk-check");
  var form = document.getElementById("kiosk-check-form");
  if (!root || !form) { return; }
  var progress = document.getElementById("kiosk-progress");
  var button = document.getElementById("kiosk-check-submit");
  var sent = false;

  function say(text) {
    progress.textContent = text;
    progress.classList.remove("hidden");
  }

  function send() {
    if (sent) { return; }
    sent = true;
    button.disabled = true;
    say(root.dataset.labelSending);
    form.submit();
  }

  function locateThenSend() {
    if (root.dataset.geofence !== "1" || !navigator.geolocation) { send(); return; }
    say(root.dataset.labelLocating);
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("kiosk-latitude").value = String(position.coords.latitude);
      document.getElementById("kiosk-longitude").value = String(position.coords.longitude);
      if (position.coords.accuracy) {
        document.getElementById("kiosk-accuracy").value = String(Math.min(position.coords.accuracy, 1000000));
      }
      send();
    }, function () {
      send();  // no position: the server refuses or flags the check-in, as the event says
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    locateThenSend();
  });
  if (root.dataset.auto === "1") { locateThenSend(); }
})();
