// broker default theme: appearance (system, light or dark). Loaded synchronously in <head>, so
// a stored choice applies before the first paint without an inline script (pages work under a
// Content-Security-Policy without 'unsafe-inline'). The choice is kept in localStorage; with
// none, the palette follows the system (prefers-color-scheme in style.css).
(function () {
  "use strict";
  var KEY = "broker-theme";
  var NEXT = { system: "light", light: "dark", dark: "system" };
  var LABEL = { system: "System", light: "Light", dark: "Dark" };
  var root = document.documentElement;

  function stored() {
    try {
      var v = window.localStorage.getItem(KEY);
      return v === "light" || v === "dark" ? v : "system";
    } catch (e) {
      return "system";
    }
  }
  function apply(choice) {
    if (choice === "light" || choice === "dark") root.setAttribute("data-theme", choice);
    else root.removeAttribute("data-theme");
  }
  var current = stored();
  apply(current);

  // The switcher in the top bar: hidden until this script shows it, then cycles
  // system → light → dark.
  function show(button) {
    var label = button.querySelector("[data-theme-label]");
    if (label) label.textContent = LABEL[current];
    button.setAttribute("data-choice", current);
    button.setAttribute("aria-label", "Appearance: " + LABEL[current]);
    button.title = "Appearance: " + LABEL[current] + " (switch to " + LABEL[NEXT[current]] + ")";
  }
  function wire() {
    var buttons = document.querySelectorAll("[data-theme-toggle]");
    Array.prototype.forEach.call(buttons, function (button) {
      show(button);
      button.hidden = false;
      button.addEventListener("click", function () {
        current = NEXT[current];
        try {
          if (current === "system") window.localStorage.removeItem(KEY);
          else window.localStorage.setItem(KEY, current);
        } catch (e) { /* storage off: the choice lasts for this page */ }
        apply(current);
        Array.prototype.forEach.call(buttons, show);
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
  // A choice made in another tab.
  window.addEventListener("storage", function (e) {
    if (e.key !== KEY) return;
    current = stored();
    apply(current);
    Array.prototype.forEach.call(document.querySelectorAll("[data-theme-toggle]"), show);
  });
})();
