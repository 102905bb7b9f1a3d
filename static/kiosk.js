// The station tablet (/kiosk/<code>): a little before each 30-second boundary, fetch the
// next check-in code and show it at the boundary; refresh the lists; keep the clock.
// Without JavaScript the page reloads itself instead (a refresh tag inside <noscript>).
(function () {
  "use strict";
  var root = document.querySelector("[data-kiosk]");
  if (!root) return;
  var windowMs = +root.getAttribute("data-window-ms");
  var shown = +root.getAttribute("data-window");
  if (!window.fetch || !window.DOMParser || !window.Intl) {
    // An old browser: reload just after the boundary, as the <noscript> tag would.
    setTimeout(function () { window.location.reload(); },
      (shown + 1) * windowMs - +root.getAttribute("data-server-ms") + 1000);
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

  function serverNow() { return Date.now() + offset; }
  function later(fn, at) { setTimeout(fn, Math.max(0, at - serverNow())); }

  // Signed out, no longer allowed, or a new deployment: let the page itself say so.
  function reloadPage() { window.location.reload(); }

  function fetchCode(w) {
    var sent = Date.now();
    fetch(codeUrl + "?w=" + w, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      var type = r.headers.get("Content-Type") || "";
      if (!r.ok || r.redirected || type.indexOf("image/svg+xml") !== 0) { reloadPage(); return null; }
      var serverMs = +r.headers.get("X-Kiosk-Server-Ms");
      if (serverMs) offset = serverMs + (Date.now() - sent) / 2 - Date.now();
      var got = +r.headers.get("X-Kiosk-Window");
      return r.text().then(function (text) { later(function () { show(got, text); }, got * windowMs); });
    }).catch(function () {
      setTimeout(function () { fetchCode(Math.max(w, currentWindow())); }, RETRY_MS);
    });
  }

  function show(w, text) {
    var doc = new DOMParser().parseFromString(text, "image/svg+xml");
    var svg = doc.documentElement;
    if (!svg || svg.nodeName.toLowerCase() !== "svg") { reloadPage(); return; }
    while (box.firstChild) box.removeChild(box.firstChild);
    box.appendChild(document.importNode(svg, true));
    box.setAttribute("data-window", String(w));
    box.classList.remove("stale");
    shown = w;
    refreshStatus();
    later(function () { fetchCode(shown + 1); }, (shown + 1) * windowMs - PREFETCH_MS);
  }

  function refreshStatus() {
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok || r.redirected) return;
      return r.text().then(function (html) { document.getElementById("kiosk-status").innerHTML = html; });
    }).catch(function () { /* the next round tries again */ });
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
  later(function () { fetchCode(shown + 1); }, (shown + 1) * windowMs - PREFETCH_MS);
})();
