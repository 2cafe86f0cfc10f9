// Copy buttons: <button data-copy="field-id"> copies that field's value.
// (app.js selects a data-select-on-focus field's text on focus, so copying
// by keyboard works without the button too.)
(function () {
  "use strict";
  var status = document.getElementById("copy-status");

  function announce(button, text) {
    if (status) status.textContent = text;
    var label = button.firstChild;
    var original = label.textContent;
    label.textContent = text === "Copied" ? "Copied" : original;
    window.setTimeout(function () { label.textContent = original; }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { announce(button, "Copied"); },
        function () { field.select(); announce(button, "Press Ctrl+C to copy"); }
      );
      return;
    }
    field.select();
    announce(button, "Press Ctrl+C to copy");
  });
})();
