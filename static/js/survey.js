// Optional enhancement: warn before leaving a questionnaire page with
// unsaved changes. Every button of the form saves, so submitting is fine.
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form) return;
  var dirty = false;
  form.addEventListener("change", function () { dirty = true; });
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  var errors = document.getElementById("page-errors");
  if (errors) errors.focus();
})();
