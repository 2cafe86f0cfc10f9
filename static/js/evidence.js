// Cost evidence upload: say at once when a chosen file is over the size
// limit, instead of after sending gigabytes the server will refuse.
(function () {
  "use strict";
  var form = document.querySelector("form.evidence-upload");
  if (!form) { return; }
  var input = form.querySelector("input[type=file]");
  var warning = document.getElementById("evidence-size-warning");
  var limit = Number(form.dataset.maxBytes);
  function tooLarge() {
    return Array.prototype.filter.call(input.files || [], function (file) {
      return file.size > limit;
    }).map(function (file) { return file.name; });
  }
  function check() {
    var names = tooLarge();
    warning.textContent = names.length
      ? names.join(", ") + (names.length === 1 ? " is" : " are") +
        " larger than the limit per file; split the export (for example one file per month)."
      : "";
    warning.classList.toggle("d-none", names.length === 0);
    return names.length === 0;
  }
  input.addEventListener("change", check);
  form.addEventListener("submit", function (event) {
    if (!check()) { event.preventDefault(); }
  });
})();
