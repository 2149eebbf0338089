// The officials' dashboard: numbers pushed by server-sent events. The page is rendered with
// the numbers of its load, so without this file it still says everything (reload to update).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("dashboard");
  if (!root || !window.EventSource) { return; }
  var withheld = root.getAttribute("data-withheld");
  function show(v) { return v === null ? withheld : String(v); }
  function cell(row, text) {
    var td = document.createElement("td");
    td.setAttribute("role", "cell");
    td.textContent = text;
    row.appendChild(td);
  }
  var source = new EventSource(root.getAttribute("data-events"));
  source.addEventListener("figures", function (ev) {
    var f = JSON.parse(ev.data);
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      var key = el.getAttribute("data-figure");
      if (key in f) { el.textContent = show(f[key]); }
    });
    root.querySelectorAll("[data-reason]").forEach(function (el) {
      var key = el.getAttribute("data-reason");
      if (f.removals_by_reason && key in f.removals_by_reason) {
        el.textContent = show(f.removals_by_reason[key]);
      }
    });
    document.getElementById("as-of").textContent = f.as_of;
    var body = document.getElementById("per-minute");
    body.textContent = "";
    if (f.screenings_per_minute.length === 0) {
      var empty = document.createElement("tr");
      empty.setAttribute("role", "row");
      cell(empty, root.getAttribute("data-none"));
      empty.firstChild.setAttribute("colspan", "3");
      body.appendChild(empty);
    }
    f.screenings_per_minute.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("role", "row");
      cell(tr, r.sector); cell(tr, r.decision); cell(tr, show(r.count));
      body.appendChild(tr);
    });
  });
});
