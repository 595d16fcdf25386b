/* The check-in kiosk (templates/checkin/kiosk.html): rotating QR, countdown, live count, full screen. */
(function () {
  "use strict";
  var root = document.getElementById("kiosk");
  if (!root || !window.RotatingQr) { return; }
  var count = document.getElementById("kiosk-count");

  function refreshCount() {
    fetch(root.dataset.statusUrl, { credentials: "same-origin", cache: "no-store",
                                    headers: { "Accept": "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error("status"); } return response.json(); })
      .then(function (data) { count.textContent = String(data.checked_in); })
      .catch(function () { /* the QR's own status line tells about the network */ });
  }

  window.RotatingQr({
    img: document.getElementById("kiosk-qr"), qrUrl: root.dataset.qrUrl, secondsLeft: root.dataset.secondsLeft,
    countdown: document.getElementById("kiosk-countdown"), status: document.getElementById("kiosk-status"),
    offlineLabel: root.dataset.labelOffline, onRefresh: refreshCount
  });
  window.setInterval(refreshCount, 5000);

  var fullscreen = document.getElementById("kiosk-fullscreen");
  if (fullscreen) {
    if (!document.documentElement.requestFullscreen) { fullscreen.classList.add("hidden"); }
    fullscreen.addEventListener("click", function () {
      document.documentElement.requestFullscreen().catch(function () { /* refused: stay windowed */ });
    });
  }
})();
