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
})();
