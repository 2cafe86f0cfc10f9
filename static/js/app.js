// Behaviour shared by every page. The Content-Security-Policy allows no
// inline script or style attribute, so markup declares what it needs in
// data attributes and this file applies it.
(function () {
  "use strict";
  // Bars: data-width="42.5" is a percentage of the bar's container.
  document.querySelectorAll("[data-width]").forEach(function (bar) {
    var width = parseFloat(bar.getAttribute("data-width"));
    if (!isNaN(width)) bar.style.width = Math.max(0, Math.min(width, 100)) + "%";
  });
  // A link shown once is selected on focus, ready to copy.
  document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
