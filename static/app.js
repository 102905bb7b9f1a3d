// Progressive enhancement for the concern form. Everything works without it.
(function () {
  "use strict";
  var form = document.getElementById("concern-form");
  if (!form) return;
  var content = form.querySelector("textarea");
  var counter = form.querySelector(".counter");
  var photos = form.querySelector("input[type=file]");
  var button = form.querySelector("button[type=submit]");

  // The limits are the server's (services/limits.py), written on the textarea by the form.
  var min = content ? +content.getAttribute("data-min") : 0, max = content ? +content.getAttribute("data-max") : 0;

  function count() {
    var n = content.value.trim().length;
    counter.hidden = false;
    counter.textContent = n + " / " + max;
    counter.className = "counter" + (n > 0 && (n < min || n > max) ? " bad" : "");
  }
  if (content && counter) { content.addEventListener("input", count); if (content.value) count(); }

  // Say at once when a photo is too large, instead of after a long upload on a slow line.
  function photoProblem() {
    if (!photos || !photos.files) return "";
    var max = +form.getAttribute("data-max-bytes"), most = +form.getAttribute("data-max-photos");
    if (photos.files.length > most) return form.getAttribute("data-too-many");
    for (var i = 0; i < photos.files.length; i++) {
      if (photos.files[i].size > max) return form.getAttribute("data-too-large").replace("{name}", photos.files[i].name);
    }
    return "";
  }
  function showPhotoProblem() {
    var box = photos.parentNode, list = box.querySelector(".js-err"), msg = photoProblem();
    if (list) list.parentNode.removeChild(list);
    if (!msg) return;
    list = document.createElement("ul");
    list.className = "errors js-err"; list.setAttribute("role", "alert");
    var li = document.createElement("li"); li.textContent = msg; list.appendChild(li); box.appendChild(list);
  }
  if (photos) photos.addEventListener("change", showPhotoProblem);

  // One tap sends once; the server also recognises a repeat by the form's key.
  var sent = false;
  form.addEventListener("submit", function (e) {
    if (photoProblem()) { e.preventDefault(); showPhotoProblem(); photos.focus(); return; }
    if (sent) { e.preventDefault(); return; }
    sent = true;
    button.setAttribute("aria-disabled", "true");
    button.textContent = form.getAttribute("data-sending");
  });
  // Coming back to this page from the receipt (back button) must allow a new tap.
  window.addEventListener("pageshow", function () { sent = false; button.removeAttribute("aria-disabled"); });
})();

// Check-in at a station that asks for the phone's position: ask the browser, then send.
// Without JavaScript, or when the position is refused, the server offers a pending check-in.
(function () {
  "use strict";
  var form = document.querySelector("form.checkin[data-geo='1']");
  if (!form || !navigator.geolocation) return;
  var done = false;
  form.addEventListener("submit", function (e) {
    if (done) return;
    e.preventDefault();
    var button = form.querySelector("button");
    button.setAttribute("aria-disabled", "true");
    button.firstChild.textContent = form.getAttribute("data-locating");
    function send() { done = true; form.submit(); }
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.latitude.value = pos.coords.latitude;
      form.elements.longitude.value = pos.coords.longitude;
      form.elements.accuracy.value = pos.coords.accuracy;
      send();
    }, send, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  });
})();
