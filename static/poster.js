(function () {
  "use strict";
  var b = document.querySelector(".print");
  if (!b || !window.print) return;
  b.hidden = false;
  b.addEventListener("click", function () { window.print(); });
})();
