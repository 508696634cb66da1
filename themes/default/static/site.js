// broker default theme: optional enhancements. Every page is readable without this file.
(function () {
  "use strict";

  // Copy buttons on code blocks.
  document.querySelectorAll(".code").forEach(function (box) {
    var pre = box.querySelector("pre");
    if (!pre || !navigator.clipboard) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.innerText).then(function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 1500);
      });
    });
    box.appendChild(button);
  });

  // Lowercase without accents ("Zákazník" → "zakaznik"; ß ø æ œ ł đ ð þ ı spelt out as the
  // search does), so the filter finds either spelling.
  var SPELT = { "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d",
    "þ": "th", "ı": "i", "ħ": "h", "ŧ": "t" };
  function fold(s) {
    return s.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[ßøæœłđðþıħŧ]/g, function (c) { return SPELT[c]; });
  }
  // Table catalog filter: by table name, folder, description or column name.
  document.querySelectorAll("[data-filter-for]").forEach(function (box) {
    var scope = document.getElementById(box.getAttribute("data-filter-for"));
    var input = box.querySelector("input");
    if (!scope || !input) return;
    box.hidden = false;
    var empty = scope.querySelector(".filter-empty");
    input.addEventListener("input", function () {
      var words = fold(input.value).split(/\s+/).filter(Boolean);
      var shown = 0;
      scope.querySelectorAll("[data-filter-group]").forEach(function (group) {
        var visible = 0;
        group.querySelectorAll("tr[data-search]").forEach(function (row) {
          var text = row.brokerFolded || (row.brokerFolded = fold(row.getAttribute("data-search")));
          var ok = words.every(function (w) { return text.indexOf(w) !== -1; });
          row.hidden = !ok;
          if (ok) visible++;
        });
        group.hidden = visible === 0;
        shown += visible;
      });
      if (empty) empty.hidden = shown !== 0;
    });
  });
  // "synced 12 minutes ago": pages are static, so the relative time is worked out when a page
  // is read; the absolute UTC time goes in the title.
  function ago(iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) return null;
    var s = Math.round((Date.now() - t) / 1000);
    function n(count, unit) { return count + " " + unit + (count === 1 ? "" : "s") + " ago"; }
    if (s < 60) return "just now";
    if (s < 3600) return n(Math.round(s / 60), "minute");
    if (s < 172800) return n(Math.round(s / 3600), "hour");
    return n(Math.round(s / 86400), "day");
  }
  document.querySelectorAll("time.ago[datetime]").forEach(function (el) {
    var text = ago(el.getAttribute("datetime"));
    if (!text) return;
    el.title = el.textContent;
    el.textContent = text;
  });
  // Table pages: the last sync comes from meta/freshness.js, the one file every build rewrites.
  var fresh = window.brokerFreshness;
  // Dashboard: when the tree was built (pages carry no build time, so that a build that
  // changed nothing rewrites none of them).
  document.querySelectorAll("[data-build-time]").forEach(function (el) {
    var when = fresh && fresh.built_at ? ago(fresh.built_at) : null;
    if (!when) return;
    el.textContent = "Built " + when;
    el.title = fresh.built_at + " (UTC)";
  });
  document.querySelectorAll("[data-synced-table]").forEach(function (el) {
    var t = fresh && fresh.tables && fresh.tables[el.getAttribute("data-synced-table")];
    if (!t) return;
    var when = t.last_success ? ago(t.last_success) : null;
    el.textContent = when ? "Synced " + when : "Never synced";
    if (t.last_success) el.title = t.last_success + " (UTC)";
    if (t.status === "failed") el.textContent += " · the last run failed";
  });
  // Catalog: the same, short ("3 hours ago"), in the table's row.
  document.querySelectorAll("[data-synced-ago]").forEach(function (el) {
    var t = fresh && fresh.tables && fresh.tables[el.getAttribute("data-synced-ago")];
    if (!t) return;
    var when = t.last_success ? ago(t.last_success) : null;
    el.textContent = when || "never";
    el.title = (t.last_success ? t.last_success + " (UTC)" : "No successful sync yet") +
      (t.status === "failed" ? "; the last run failed" : "");
    if (t.status === "failed") el.classList.add("sync-failed");
  });
})();
