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

  // Table catalog filter: by table name, folder, description or column name.
  document.querySelectorAll("[data-filter-for]").forEach(function (box) {
    var scope = document.getElementById(box.getAttribute("data-filter-for"));
    var input = box.querySelector("input");
    if (!scope || !input) return;
    box.hidden = false;
    var empty = scope.querySelector(".filter-empty");
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      scope.querySelectorAll("[data-filter-group]").forEach(function (group) {
        var visible = 0;
        group.querySelectorAll("tr[data-search]").forEach(function (row) {
          var text = row.getAttribute("data-search");
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
  // "synced 12 minutes ago": the page is static, so the relative time is worked out when it is
  // read; the absolute UTC time stays in the title.
  document.querySelectorAll("time.ago[datetime]").forEach(function (el) {
    var t = Date.parse(el.getAttribute("datetime"));
    if (isNaN(t)) return;
    var s = Math.round((Date.now() - t) / 1000);
    var text;
    if (s < 60) text = "just now";
    else if (s < 3600) text = Math.round(s / 60) + " minutes ago";
    else if (s < 172800) text = Math.round(s / 3600) + " hours ago";
    else text = Math.round(s / 86400) + " days ago";
    el.title = el.textContent;
    el.textContent = text;
  });
})();
