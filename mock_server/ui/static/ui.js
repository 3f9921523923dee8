// Live updates by short polling: the <main> element names a cheap JSON endpoint (data-poll); every
// element with data-bind="a.b.c" shows that value, data-bind-value sets a <progress> value. Arrays of
// records are addressed by id (campaigns.<id>.status, tasks.<taskId>.status) and have .length. An
// element with data-reload-on-change reloads the page when its value changes (a new record arrived).
(function () {
  "use strict";
  var main = document.getElementById("main");
  var url = main && main.getAttribute("data-poll");
  var INTERVAL = 1000;

  function lookup(data, path) {
    return path.split(".").reduce(function (value, key) {
      if (value === undefined || value === null) { return undefined; }
      if (Array.isArray(value) && key !== "length") {
        return value.find(function (item) { return String(item.id !== undefined ? item.id : item.taskId) === key; });
      }
      return value[key];
    }, data);
  }

  function busy() {
    var active = document.activeElement;
    return active && (active.tagName === "INPUT" || active.tagName === "SELECT");
  }

  function apply(data) {
    if (data.clock) {
      data.clock.state = data.clock.frozen ? "frozen" : "running";
    }
    document.querySelectorAll("[data-bind]").forEach(function (node) {
      var value = lookup(data, node.getAttribute("data-bind"));
      if (value === undefined || value === null) { return; }
      var text = String(value);
      if (node.textContent !== text) {
        if (node.hasAttribute("data-reload-on-change") && !busy()) { window.location.reload(); return; }
        node.textContent = text;
        if (node.classList.contains("badge")) { node.className = "badge s-" + text.toLowerCase(); }
      }
    });
    document.querySelectorAll("[data-bind-value]").forEach(function (node) {
      var value = lookup(data, node.getAttribute("data-bind-value"));
      if (typeof value === "number") { node.value = value; }
    });
  }

  function poll() {
    if (document.hidden) { window.setTimeout(poll, INTERVAL); return; }
    fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { apply(data); } })
      .catch(function () { /* server restarting: try again on the next tick */ })
      .finally(function () { window.setTimeout(poll, INTERVAL); });
  }

  if (url) { window.setTimeout(poll, INTERVAL); }
}());
