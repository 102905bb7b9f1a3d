// The station tablet (/kiosk/<code>): a little before each 30-second boundary, fetch the
// next check-in code and show it at the boundary; every few seconds ask the status poll
// which code to show (each code checks in once: after a check-in it names a new one) and
// refresh the lists; keep the clock. Without JavaScript the page reloads itself instead
// (a refresh tag inside <noscript>).
(function () {
  "use strict";
  var root = document.querySelector("[data-kiosk]");
  if (!root) return;
  var windowMs = +root.getAttribute("data-window-ms");
  var pollMs = +root.getAttribute("data-poll-ms") || 4000;
  var shown = +root.getAttribute("data-window");
  var shownCode = root.getAttribute("data-code");
  if (!window.fetch || !window.DOMParser || !window.Intl) {
    // An old browser: reload as the <noscript> tag would.
    setTimeout(function () { window.location.reload(); },
      Math.min(pollMs, (shown + 1) * windowMs - +root.getAttribute("data-server-ms") + 1000));
    return;
  }
  var codeUrl = root.getAttribute("data-code-url");
  var statusUrl = root.getAttribute("data-status-url");
  // The server's clock decides the windows; the tablet's own clock may be wrong.
  var offset = +root.getAttribute("data-server-ms") - Date.now();
  var box = document.getElementById("kiosk-qr");
  var clock = document.getElementById("kiosk-clock");
  var progress = document.getElementById("kiosk-progress");
  var PREFETCH_MS = 2000, RETRY_MS = 3000;
  var timeFormat = new Intl.DateTimeFormat("zh-CN", {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai"
  });
  var loadedDay = new Date(serverNow() + 8 * 3600 * 1000).getUTCDate();
  var boundaryTimer = null;

  function serverNow() { return Date.now() + offset; }
  function later(fn, at) { return setTimeout(fn, Math.max(0, at - serverNow())); }

  // Revoked, unpaired, or a new deployment: let the page itself say so.
  function reloadPage() { window.location.reload(); }

  // The window of a code id "<window>.<n>".
  function windowOf(codeId) { return +String(codeId).split(".")[0]; }

  function fetchCode(w) {
    var sent = Date.now();
    var url = w === null ? codeUrl : codeUrl + "?w=" + w;
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      var type = r.headers.get("Content-Type") || "";
      if (!r.ok || r.redirected || type.indexOf("image/svg+xml") !== 0) { reloadPage(); return null; }
      var serverMs = +r.headers.get("X-Kiosk-Server-Ms");
      if (serverMs) offset = serverMs + (Date.now() - sent) / 2 - Date.now();
      var got = +r.headers.get("X-Kiosk-Window");
      var codeId = r.headers.get("X-Kiosk-Code");
      return r.text().then(function (text) { later(function () { show(got, codeId, text); }, got * windowMs); });
    }).catch(function () {
      setTimeout(function () { fetchCode(null); }, RETRY_MS);
    });
  }

  function show(w, codeId, text) {
    // A slower answer must not put back a code older than the one shown.
    if (w < shown || (w === shown && codeId === shownCode)) return;
    var doc = new DOMParser().parseFromString(text, "image/svg+xml");
    var svg = doc.documentElement;
    if (!svg || svg.nodeName.toLowerCase() !== "svg") { reloadPage(); return; }
    while (box.firstChild) box.removeChild(box.firstChild);
    box.appendChild(document.importNode(svg, true));
    box.setAttribute("data-window", String(w));
    box.setAttribute("data-code", codeId);
    box.classList.remove("stale");
    shown = w;
    shownCode = codeId;
    if (boundaryTimer !== null) clearTimeout(boundaryTimer);
    boundaryTimer = later(function () { boundaryTimer = null; fetchCode(shown + 1); }, (shown + 1) * windowMs - PREFETCH_MS);
  }

  function poll() {
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 403 || r.status === 404 || r.redirected) { reloadPage(); return null; }
      if (!r.ok) return null;
      var codeId = r.headers.get("X-Kiosk-Code");
      // The shown code was used (or the window turned while a fetch failed): the next one now.
      if (codeId && codeId !== shownCode && windowOf(codeId) >= shown) fetchCode(null);
      return r.text().then(function (html) { document.getElementById("kiosk-status").innerHTML = html; });
    }).catch(function () { /* the next round tries again */ }).then(function () {
      setTimeout(poll, pollMs);
    });
  }

  function currentWindow() { return Math.floor(serverNow() / windowMs); }

  function tick() {
    var now = serverNow();
    clock.textContent = timeFormat.format(new Date(now));
    progress.value = windowMs - (now % windowMs);
    // A code two windows old is refused at check-in: never leave it up as if it worked.
    box.classList.toggle("stale", currentWindow() - shown >= 2);
    if (new Date(now + 8 * 3600 * 1000).getUTCDate() !== loadedDay) reloadPage(); // a new day: new roster and date
  }

  progress.hidden = false;
  tick();
  setInterval(tick, 1000);
  boundaryTimer = later(function () { boundaryTimer = null; fetchCode(shown + 1); }, (shown + 1) * windowMs - PREFETCH_MS);
  setTimeout(poll, pollMs);
})();
