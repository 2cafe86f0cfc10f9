// Sending progress: while emails are going out, fetch the panel again every
// few seconds and put it in place, so the counts move without a reload.
// Without JavaScript the panel is still right on each reload.
(function () {
  "use strict";
  var INTERVAL = 3000;
  var MAX_ERRORS = 5;

  function poll(panel, errors) {
    if (panel.getAttribute("data-active") !== "1") return;
    window.setTimeout(function () {
      fetch(panel.getAttribute("data-sending-url"), { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.querySelector("[data-sending-url]");
          if (!fresh) return;
          panel.replaceWith(fresh);
          poll(fresh, 0);
        })
        .catch(function () {
          if (errors + 1 < MAX_ERRORS) poll(panel, errors + 1);
        });
    }, INTERVAL);
  }

  document.querySelectorAll("[data-sending-url]").forEach(function (panel) {
    poll(panel, 0);
  });
})();
