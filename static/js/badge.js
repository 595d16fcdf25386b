/* The volunteer's badge (templates/checkin/badge.html): a QR code that rotates every 30 seconds. */
(function () {
  "use strict";
  var root = document.getElementById("badge");
  if (!root || !window.RotatingQr) { return; }
  window.RotatingQr({
    img: document.getElementById("badge-qr"), qrUrl: root.dataset.qrUrl, secondsLeft: root.dataset.secondsLeft,
    countdown: document.getElementById("badge-countdown"), status: document.getElementById("badge-status"),
    offlineLabel: root.dataset.labelOffline
  });
})();
