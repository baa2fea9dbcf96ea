/* shdata site: gallery filter and search, citation tabs and copy buttons.
   No network, no dependencies; every page works without it (all citation
   formats are then shown, and every figure is listed). */
(function () {
  "use strict";
  document.documentElement.className += " js";

  // -- gallery: topic filter and text search ---------------------------------
  var cards = Array.prototype.slice.call(document.querySelectorAll("[data-card]"));
  var query = document.getElementById("q");
  var count = document.getElementById("count");
  var noMatch = document.getElementById("no-match");
  var topic = "all";
  function apply() {
    var words = (query && query.value || "").toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    cards.forEach(function (card) {
      var hay = card.getAttribute("data-search");
      var ok = (topic === "all" || card.getAttribute("data-topic") === topic) &&
        words.every(function (w) { return hay.indexOf(w) >= 0; });
      card.hidden = !ok;
      if (ok) { shown += 1; }
    });
    if (count) { count.textContent = count.getAttribute("data-template").replace("{n}", String(shown)); }
    if (noMatch) { noMatch.hidden = shown > 0; }
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-topic-button]"), function (button, _, all) {
    button.addEventListener("click", function () {
      topic = button.getAttribute("data-topic-button");
      Array.prototype.forEach.call(all, function (b) { b.setAttribute("aria-pressed", String(b === button)); });
      apply();
    });
  });
  if (query) { query.addEventListener("input", apply); }

  // -- citation box: one tab per format, a copy button per format ------------
  Array.prototype.forEach.call(document.querySelectorAll("[data-cite]"), function (box) {
    var tabs = box.querySelectorAll("[role=tab]");
    var panels = box.querySelectorAll("[role=tabpanel]");
    function select(fmt) {
      Array.prototype.forEach.call(tabs, function (t) { t.setAttribute("aria-selected", String(t.getAttribute("data-fmt") === fmt)); });
      Array.prototype.forEach.call(panels, function (p) { p.hidden = p.getAttribute("data-fmt") !== fmt; });
    }
    Array.prototype.forEach.call(tabs, function (t) {
      t.addEventListener("click", function () { select(t.getAttribute("data-fmt")); });
    });
    if (tabs.length) { select(tabs[0].getAttribute("data-fmt")); }
  });

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
  }
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var label = button.textContent;
    button.addEventListener("click", function () {
      // Exactly what `shdata cite` prints: the <pre> holds it, final newline included.
      var text = document.getElementById(button.getAttribute("data-copy")).querySelector("pre").textContent;
      function done() {
        window.shdataLastCopied = text;  // read by the browser tests
        button.textContent = button.getAttribute("data-copied-label");
        setTimeout(function () { button.textContent = label; }, 1500);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
      } else {
        fallbackCopy(text);
        done();
      }
    });
  });
})();
