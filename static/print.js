// A print button for printable pages (the poster, the annual report): shown only when
// the browser can print from script; without it, the browser's own Print still works.
(function () {
  "use strict";
  var b = document.querySelector(".print");
  if (!b || !window.print) return;
  b.hidden = false;
  b.addEventListener("click", function () { window.print(); });
})();
