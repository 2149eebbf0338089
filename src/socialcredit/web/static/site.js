// Progressive enhancement only: every page works without it. Served from this origin, so the
// content security policy (script-src 'self') allows it; no inline handlers anywhere.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Focus the first field with an error message so screen readers and keyboards land on it.
  var alert = document.querySelector(".notice.error");
  var field = alert && alert.id && document.querySelector("[aria-describedby='" + alert.id + "']");
  if (field) { field.focus(); }
});
