/* The coordinator's badge scanner (templates/checkin/scanner.html).

   The rear camera is read continuously (getUserMedia → canvas → vendored jsQR). Every badge read
   becomes a scan with a client-made id, the device id and its original time, and is put in a queue
   kept in localStorage BEFORE it is sent, so nothing is lost without a network. The queue is sent to
   POST /api/v1/scans (session + CSRF header) at once, when the browser comes back online, and every
   15 seconds while anything waits; the server applies each scan once (device id + client id).
   A full-screen green / amber / red result with a sound answers each scan. */
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root) { return; }

  var BADGE = /^B\.[0-9a-z]{1,13}\.[0-9a-z]{1,13}\.[A-Za-z0-9_-]{22}$/;
  var DEBOUNCE_MS = 4000;       // the same code seen again within this time is the same presentation
  var RETRY_MS = 15000;
  var BATCH = 100;
  var LIVE_MS = 20000;          // a scan sent later than this after it was taken counts as offline
  var eventId = parseInt(root.dataset.eventId, 10);
  var apiUrl = root.dataset.apiUrl;
  var labels = root.dataset;
  var queueKey = "checkin.queue." + eventId;
  var csrfMeta = document.querySelector("meta[name=csrf-token]");
  var csrf = csrfMeta ? csrfMeta.content : "";

  var video = document.getElementById("scanner-video");
  var canvas = document.getElementById("scanner-canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var message = document.getElementById("scanner-message");
  var onlineBadge = document.getElementById("scanner-online");
  var pendingCount = document.getElementById("scanner-pending-count");
  var log = document.getElementById("scanner-log");
  var overlay = document.getElementById("scan-result");
  var sounds = { ok: new Audio(labels.okSound), error: new Audio(labels.errorSound) };

  var lastText = null, lastSeen = 0, paused = false, hideTimer = null;
  var syncing = false, again = false, waitingFor = {};
  var position = null;

  /* ---- identity and queue ---- */
  function uuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function deviceId() {
    var id = localStorage.getItem("checkin.device");
    if (!id) { id = "web-" + uuid(); localStorage.setItem("checkin.device", id); }
    return id;
  }

  function loadQueue() {
    try { return JSON.parse(localStorage.getItem(queueKey)) || []; } catch (e) { return []; }
  }

  function saveQueue(queue) {
    localStorage.setItem(queueKey, JSON.stringify(queue));
    pendingCount.textContent = String(queue.length);
  }

  function setOnline(online) {
    onlineBadge.textContent = online ? labels.labelOnline : labels.labelOffline;
    onlineBadge.classList.toggle("ok", online);
    onlineBadge.classList.toggle("offline", !online);
  }

  /* ---- the result screen ---- */
  function play(kind) {
    var sound = sounds[kind];
    try { sound.currentTime = 0; } catch (e) { /* not loaded yet */ }
    var played = sound.play();
    if (played && played.catch) { played.catch(function () { /* autoplay refused: silent */ }); }
  }

  function shiftLabel(result) {
    var shift = result.shift;
    var parts = [];
    if (result.position_name) { parts.push(result.position_name); }
    if (shift && shift.starts_at && shift.ends_at) {
      var format = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
                                           { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" });
      parts.push(format.format(new Date(shift.starts_at)) + "–" + format.format(new Date(shift.ends_at)));
    }
    return parts.join(" · ");
  }

  function show(kind, title, name, shift, text) {
    overlay.className = "scan-result" + (kind === "ok" ? "" : " " + kind);
    document.getElementById("scan-result-title").textContent = title;
    document.getElementById("scan-result-name").textContent = name || "";
    document.getElementById("scan-result-shift").textContent = shift || "";
    document.getElementById("scan-result-message").textContent = text || "";
    overlay.dataset.kind = kind;
    play(kind === "bad" ? "error" : "ok");
    paused = true;
    window.clearTimeout(hideTimer);
    hideTimer = window.setTimeout(hide, kind === "ok" ? 2500 : 5000);
  }

  function hide() {
    overlay.classList.add("hidden");
    paused = false;
  }

  function showResult(result) {
    var name = result.volunteer ? result.volunteer.name : (result.volunteer_name || "");
    if (!result.ok) {
      show("bad", labels.labelRefused, name, shiftLabel(result), result.message);
    } else if (result.result === "conflict") {
      show("warn", labels.labelConflict, name, shiftLabel(result), result.message);
    } else if (result.result === "repeat") {
      show("ok", labels.labelRepeat, name, shiftLabel(result), result.message);
    } else {
      show("ok", result.action === "check_out" ? labels.labelCheckedOut : labels.labelCheckedIn, name,
           shiftLabel(result), result.message);
    }
  }

  function note(text, bad) {
    var item = document.createElement("li");
    item.textContent = text;
    if (bad) { item.className = "bad"; }
    log.insertBefore(item, log.firstChild);
    while (log.children.length > 8) { log.removeChild(log.lastChild); }
  }

  /* ---- sending ---- */
  function payload(batch) {
    var now = Date.now();
    return {
      event_id: eventId, device_id: deviceId(),
      scans: batch.map(function (scan) {
        var body = { client_scan_id: scan.client_scan_id, badge_token: scan.badge_token,
                     scanned_at: scan.scanned_at, offline: Boolean(scan.offline) || now - scan.taken > LIVE_MS };
        if (scan.latitude !== undefined) { body.latitude = scan.latitude; body.longitude = scan.longitude; }
        return body;
      })
    };
  }

  function settle(batch, results) {
    var done = {};
    results.forEach(function (result) {
      done[result.client_scan_id] = true;
      if (waitingFor[result.client_scan_id]) {
        delete waitingFor[result.client_scan_id];
        showResult(result);
      } else if (!result.ok) {
        note(labels.labelSyncRefused + " " + (result.volunteer ? result.volunteer.name + ": " : "") + result.message, true);
      } else {
        note((result.volunteer ? result.volunteer.name + ": " : "") + result.message, false);
      }
    });
    saveQueue(loadQueue().filter(function (scan) { return !done[scan.client_scan_id]; }));
  }

  function dropBatch(batch, text) {
    var ids = {};
    batch.forEach(function (scan) { ids[scan.client_scan_id] = true; });
    saveQueue(loadQueue().filter(function (scan) { return !ids[scan.client_scan_id]; }));
    batch.forEach(function (scan) {
      if (waitingFor[scan.client_scan_id]) { delete waitingFor[scan.client_scan_id]; show("bad", labels.labelRefused, "", "", text); }
    });
    note(text, true);
  }

  function markAttempted(batch) {
    var ids = {};
    batch.forEach(function (scan) { ids[scan.client_scan_id] = true; });
    saveQueue(loadQueue().map(function (scan) {
      if (ids[scan.client_scan_id]) { scan.offline = true; }  // not delivered live: judged at its own time
      return scan;
    }));
  }

  function queuedNotice(batch) {
    batch.forEach(function (scan) {
      if (waitingFor[scan.client_scan_id]) {
        delete waitingFor[scan.client_scan_id];
        show("warn", labels.labelQueued, "", "", labels.labelQueuedMessage);
      }
    });
  }

  function sync() {
    if (syncing) { again = true; return; }
    var batch = loadQueue().slice(0, BATCH);
    if (!batch.length) { return; }
    syncing = true;
    fetch(apiUrl, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(payload(batch))
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        return { status: response.status, body: body };
      });
    }).then(function (answer) {
      setOnline(true);
      if (answer.status === 200 && answer.body && answer.body.results) {
        settle(batch, answer.body.results);
        again = again || loadQueue().length > 0;
      } else if (answer.status === 401 || answer.status === 403 || answer.status === 429 || answer.status >= 500) {
        markAttempted(batch);   // kept: sent again after logging in / when the server is back
        queuedNotice(batch);
        note(answer.status === 401 ? labels.labelSession : (answer.body && answer.body.error ? answer.body.error.message : String(answer.status)), true);
      } else {
        // the request itself was refused (malformed, too large): it would be refused again, so drop it
        dropBatch(batch, answer.body && answer.body.error ? answer.body.error.message : String(answer.status));
      }
    }).catch(function () {
      setOnline(false);
      markAttempted(batch);
      queuedNotice(batch);
    }).then(function () {
      syncing = false;
      if (again && navigator.onLine !== false) { again = false; window.setTimeout(sync, 50); }
    });
  }

  /* ---- reading badges ---- */
  function onCode(text) {
    var now = Date.now();
    if (text === lastText && now - lastSeen < DEBOUNCE_MS) { lastSeen = now; return; }
    lastText = text;
    lastSeen = now;
    if (!BADGE.test(text)) {
      show("bad", labels.labelRefused, "", "", labels.labelNotBadge);
      return;
    }
    var scan = { client_scan_id: uuid(), badge_token: text, scanned_at: new Date(now).toISOString(), taken: now,
                 offline: navigator.onLine === false };
    if (position && now - position.at < 120000) { scan.latitude = position.latitude; scan.longitude = position.longitude; }
    var queue = loadQueue();
    queue.push(scan);
    saveQueue(queue);
    waitingFor[scan.client_scan_id] = true;
    if (navigator.onLine === false) { queuedNotice([scan]); return; }
    sync();
  }

  function readFrame() {
    if (!paused && video.readyState >= 2 && video.videoWidth) {
      var scale = Math.min(1, 800 / Math.max(video.videoWidth, video.videoHeight));
      var width = Math.round(video.videoWidth * scale), height = Math.round(video.videoHeight * scale);
      if (canvas.width !== width) { canvas.width = width; canvas.height = height; }
      context.drawImage(video, 0, 0, width, height);
      var image = context.getImageData(0, 0, width, height);
      var code = window.jsQR(image.data, width, height, { inversionAttempts: "dontInvert" });
      if (code && code.data) { onCode(code.data.trim()); }
    }
    window.setTimeout(readFrame, 100);
  }

  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.jsQR) {
      message.textContent = labels.labelNoCamera;
      return;
    }
    navigator.mediaDevices.getUserMedia({
      audio: false, video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }
    }).then(function (stream) {
      video.srcObject = stream;
      video.setAttribute("playsinline", "");
      return video.play();
    }).then(function () {
      message.textContent = labels.labelScanning;
      readFrame();
    }).catch(function () {
      message.textContent = labels.labelNoCamera;
    });
  }

  function watchPosition() {
    if (root.dataset.geofence !== "1" || !navigator.geolocation) { return; }
    navigator.geolocation.watchPosition(function (found) {
      position = { latitude: found.coords.latitude, longitude: found.coords.longitude, at: Date.now() };
    }, function () { position = null; }, { enableHighAccuracy: true, maximumAge: 30000 });
  }

  document.getElementById("scan-result-close").addEventListener("click", hide);
  overlay.addEventListener("click", hide);
  document.getElementById("scanner-sync").addEventListener("click", sync);
  window.addEventListener("online", function () { setOnline(true); sync(); });
  window.addEventListener("offline", function () { setOnline(false); });
  window.setInterval(function () { if (loadQueue().length) { sync(); } }, RETRY_MS);

  saveQueue(loadQueue());
  setOnline(navigator.onLine !== false);
  watchPosition();
  startCamera();
  sync();
})();
