/* A QR code that the server replaces every window (checkin/qr.py): fetch the next SVG when the
   current one rotates (X-QR-Rotates-In), show a countdown, keep the screen awake.
   Shared by the kiosk (kiosk.js) and the badge (badge.js). Loaded from static/ (CSP: no inline scripts). */
(function () {
  "use strict";

  function keepAwake() {
    // Wake Lock API: the screen stays on while the code is shown (released by the browser when hidden).
    if (!("wakeLock" in navigator)) { return; }
    var request = function () {
      if (document.visibilityState === "visible") {
        navigator.wakeLock.request("screen").catch(function () { /* not allowed: nothing to do */ });
      }
    };
    request();
    document.addEventListener("visibilitychange", request);
  }

  /* options: img, qrUrl, secondsLeft, countdown (element), status (element), offlineLabel, onRefresh */
  function RotatingQr(options) {
    var rotatesAt = Date.now() + (parseFloat(options.secondsLeft) || 30) * 1000;
    var validUntil = rotatesAt + 30000;
    var objectUrl = null;
    var timer = null;

    function setStatus(problem) {
      if (!options.status) { return; }
      options.status.textContent = problem ? options.offlineLabel : "";
      options.status.classList.toggle("hidden", !problem);
    }

    function tick() {
      var left = Math.max(0, Math.ceil((rotatesAt - Date.now()) / 1000));
      if (options.countdown) { options.countdown.textContent = String(left); }
      options.img.classList.toggle("stale", Date.now() > validUntil);
    }

    function schedule(ms) {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, ms);
    }

    function refresh() {
      fetch(options.qrUrl, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("image/svg+xml") !== 0) { throw new Error("no code"); }
        var seconds = parseFloat(response.headers.get("X-QR-Rotates-In"));
        var until = Date.parse(response.headers.get("X-QR-Valid-Until") || "");
        return response.blob().then(function (blob) {
          var next = URL.createObjectURL(blob);
          options.img.src = next;
          if (objectUrl) { URL.revokeObjectURL(objectUrl); }
          objectUrl = next;
          if (isNaN(seconds)) { seconds = 30; }
          rotatesAt = Date.now() + seconds * 1000;
          validUntil = isNaN(until) ? rotatesAt + 30000 : Date.now() + Math.max(until - Date.now(), 0);
          setStatus(false);
          tick();
          if (options.onRefresh) { options.onRefresh(); }
          schedule(seconds * 1000 + 250);
        });
      }).catch(function () {
        setStatus(true);
        schedule(3000);
      });
    }

    tick();
    window.setInterval(tick, 250);
    schedule(Math.max(rotatesAt - Date.now(), 0) + 250);
    keepAwake();
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { refresh(); }  // a phone woken up shows a fresh code at once
    });
  }

  window.RotatingQr = RotatingQr;
})();
