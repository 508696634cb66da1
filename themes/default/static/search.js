// broker default theme: catalog search. Ctrl-K / Cmd-K, "/" (outside a text field) or the Search
// button opens it on every page. The index lives in ../search/*.js (format: src/site/search.rs);
// its files are loaded with <script> tags on first use, so search works from file:// and offline.
// Data is only ever inserted with textContent.
(function () {
  "use strict";

  var me = document.currentScript;
  var root = me && me.src ? me.src.replace(/assets\/search\.js(?:[?#].*)?$/, "") : "";
  var LIMIT = 50;
  var MAX_KEY = 6;

  // ---------------------------------------------------------------- folding (as search.rs)
  var SPELT = { "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d",
    "þ": "th", "ı": "i", "ħ": "h", "ŧ": "t" };
  var ALNUM = /[\p{Alphabetic}\p{N}]/u;
  var LOWER = /\p{Lowercase}/u;
  var UPPER = /\p{Uppercase}/u;
  function inFoldRange(cp) {
    return (cp >= 0xC0 && cp <= 0x24F) || (cp >= 0x370 && cp <= 0x4FF) ||
      (cp >= 0x1E00 && cp <= 0x1FFF) || (cp >= 0x3040 && cp <= 0x30FF);
  }
  function isMark(cp) {
    return (cp >= 0x300 && cp <= 0x36F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
      (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
      (cp >= 0xFE20 && cp <= 0xFE2F) || cp === 0x3099 || cp === 0x309A;
  }
  function fold(s) {
    var out = "";
    for (var ch of s) {
      var base = ch;
      if (inFoldRange(ch.codePointAt(0))) {
        base = String.fromCodePoint(ch.normalize("NFD").codePointAt(0));
      }
      for (var c of base.toLowerCase()) {
        if (!isMark(c.codePointAt(0))) out += SPELT[c] || c;
      }
    }
    return out;
  }
  function isWordChar(c) { return ALNUM.test(c) || isMark(c.codePointAt(0)); }
  // Folded words: runs of letters, digits and marks, split at camelCase boundaries.
  function words(text) {
    var out = [], cur = "", prevLower = false;
    function flush() {
      if (cur) { var w = fold(cur); if (w) out.push(w); cur = ""; }
    }
    for (var c of text) {
      if (!isWordChar(c)) { flush(); prevLower = false; continue; }
      if (prevLower && UPPER.test(c)) flush();
      cur += c;
      prevLower = LOWER.test(c);
    }
    flush();
    return out;
  }
  function compact(s) {
    var out = "";
    for (var c of fold(s)) if (ALNUM.test(c)) out += c;
    return out;
  }
  function nameRank(q, name) {
    if (name === q) return 0;
    if (name.indexOf(q) === 0) return 1;
    if (q && name.indexOf(q) !== -1) return 2;
    return 3;
  }
  function shardFile(key) {
    var out = "";
    for (var c of key) {
      out += /[a-z0-9]/.test(c) ? c : "_" + c.codePointAt(0).toString(16) + "_";
    }
    return out + ".js";
  }
  // Percent-encoding of a path segment as broker's pages do (all but A-Z a-z 0-9 - . _ ~).
  function enc(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  function hrefTo(path, anchor) {
    var h = root + path.split("/").map(enc).join("/");
    return anchor ? h + "#" + enc(anchor) : h;
  }

  // ---------------------------------------------------------------- the index
  var manifest = null, keys = null, entries = [], shards = {}, requested = {}, failed = false;
  window.brokerSearch = {
    init: function (m) {
      manifest = m;
      keys = {};
      m.shards.forEach(function (k) { keys[k] = true; });
      prepare(m);
      update();
    },
    load: function (s) {
      shards[s.k] = s;
      update();
    }
  };
  function request(file) {
    if (requested[file]) return;
    requested[file] = true;
    var s = document.createElement("script");
    s.src = root + "search/" + file;
    s.async = true;
    s.onerror = function () { failed = true; update(); };
    document.head.appendChild(s);
  }
  // Tables, metrics, docs and doc headings: searched by name in the core file.
  function prepare(m) {
    m.tables.forEach(function (t, i) {
      var folder = m.folders[t[1]] || [""];
      var label = folder[1] || folder[0];
      entries.push({ kind: 0, order: i, title: t[0], meta: "table · " + label, code: true,
        names: [compact(t[0])], extra: words(folder.join(" ")),
        href: hrefTo(t[2] || "tables/" + t[0] + ".html") });
    });
    m.metrics.forEach(function (x, i) {
      entries.push({ kind: 1, order: i, title: x[1] || x[0], meta: "metric · " + x[0] + " · " + x[2],
        names: [x[0], x[1]].concat(x[3]).map(compact), extra: words(x[2]),
        href: hrefTo(x[4] || "metrics/" + x[2] + "/" + x[0] + ".html") });
    });
    m.docs.forEach(function (d, i) {
      entries.push({ kind: 2, order: i * 1000, title: d[0], meta: "doc",
        names: [compact(d[0])], extra: [], href: hrefTo(d[1]) });
      d[2].forEach(function (h, j) {
        entries.push({ kind: 2, order: i * 1000 + j + 1, title: d[0] + " › " + h[0], meta: "doc section",
          names: [compact(h[0])], extra: [], href: hrefTo(d[1], h[1]) });
      });
    });
  }
  function tableEntry(i) { return entries[i]; } // tables come first in `entries`
  function shardKey(w) {
    var chars = Array.from(w);
    for (var n = Math.min(chars.length, MAX_KEY); n > 0; n--) {
      var k = chars.slice(0, n).join("");
      if (keys[k]) return k;
    }
    return null;
  }
  function nameMatch(e, w) {
    for (var i = 0; i < e.names.length; i++) if (e.names[i].indexOf(w) !== -1) return true;
    for (var j = 0; j < e.extra.length; j++) if (e.extra[j].indexOf(w) === 0) return true;
    return false;
  }
  function columnEntry(s, j) {
    var c = s.c[j], t = tableEntry(c[0]);
    return { id: "c" + c[0] + "." + c[1], kind: 3, order: c[0], name: c[1],
      title: t.title + "." + c[1], meta: manifest.types[c[2]] || "", code: true, snippet: c[3],
      names: [compact(c[1])], table: t.names[0], extra: [],
      href: t.href + "#" + enc(c[4] || "column-" + c[1]) };
  }
  // Results for `text`: {loading} while index files are on their way, else {items, total, partial}.
  function search(text) {
    var raw = text.trim();
    if (!raw) return { items: [], total: 0 };
    if (!manifest) { request("index.js"); return { loading: true }; }
    var tablePart = null;
    var dot = raw.indexOf(".");
    if (dot > 0 && dot < raw.length - 1 && !/\s/.test(raw)) {
      tablePart = compact(raw.slice(0, dot));
      raw = raw.slice(dot + 1);
    }
    var ws = words(raw);
    if (!ws.length) return { items: [], total: 0 };
    var loading = false;
    ws.forEach(function (w) {
      var k = shardKey(w);
      if (k && !shards[k]) { request(shardFile(k)); loading = true; }
    });
    if (loading) return { loading: true };

    var found = {}, partial = false;
    function add(e, wi) {
      var id = e.id || (e.id = "e" + e.kind + "." + e.order);
      var f = found[id] || (found[id] = { e: e, hit: [] });
      f.hit[wi] = true;
    }
    ws.forEach(function (w, wi) {
      entries.forEach(function (e) { if (nameMatch(e, w)) add(e, wi); });
      var s = shards[shardKey(w)];
      if (!s) return;
      if (s.p) partial = true;
      for (var i = 0; i < s.w.length; i++) {
        if (s.w[i].indexOf(w) !== 0) continue;
        s.h[i].forEach(function (h) {
          var n = Math.floor(h / 4);
          if (h % 4 === 0) add(entries[n], wi);
          else if (h % 4 === 1) add(entries[manifest.tables.length + n], wi);
          else if (h % 4 === 3) add(columnEntry(s, n), wi);
        });
      }
    });
    var q = compact(raw);
    var items = [];
    Object.keys(found).forEach(function (id) {
      var f = found[id], e = f.e;
      if (tablePart !== null && (e.kind !== 3 || e.table.indexOf(tablePart) === -1)) return;
      for (var wi = 0; wi < ws.length; wi++) {
        if (f.hit[wi]) continue;
        // A column also answers a word that its table's name holds ("orders id").
        if (e.kind === 3 && e.table.indexOf(ws[wi]) !== -1) continue;
        if (nameMatch(e, ws[wi])) continue;
        return;
      }
      var rank = 3;
      e.names.forEach(function (n) { rank = Math.min(rank, nameRank(q, n)); });
      items.push({ e: e, rank: rank });
    });
    items.sort(function (a, b) {
      return a.rank - b.rank || a.e.kind - b.e.kind || a.e.order - b.e.order ||
        (a.e.name < b.e.name ? -1 : a.e.name > b.e.name ? 1 : 0);
    });
    return { items: items.slice(0, LIMIT), total: items.length, partial: partial };
  }

  // ---------------------------------------------------------------- the dialog
  var dialog = null, input, list, status, opener = null, active = -1, shown = [];
  var mac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text) n.textContent = text;
    return n;
  }
  function build() {
    dialog = el("dialog", "search-dialog");
    dialog.setAttribute("aria-label", "Search the catalog");
    var box = el("div", "search-box");
    box.setAttribute("role", "search");
    var label = el("label", "search-label", "Search");
    label.htmlFor = "search-q";
    input = el("input", "search-input");
    input.id = "search-q";
    input.type = "search";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.placeholder = "Tables, columns, metrics, docs";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", "search-results");
    box.appendChild(label);
    box.appendChild(input);
    status = el("p", "search-status");
    status.setAttribute("role", "status");
    list = el("ul", "search-results");
    list.id = "search-results";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Results");
    var help = el("p", "search-help", "↑ ↓ move · Enter opens · Esc closes · orders.status finds a column of a table");
    dialog.appendChild(box);
    dialog.appendChild(status);
    dialog.appendChild(list);
    dialog.appendChild(help);
    document.body.appendChild(dialog);

    input.addEventListener("input", update);
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (!shown.length) return;
        var d = e.key === "ArrowDown" ? 1 : -1;
        select((active + d + shown.length) % shown.length);
      } else if (e.key === "Enter") {
        e.preventDefault();
        if (shown.length) go(shown[Math.max(active, 0)].e.href);
      }
    });
    dialog.addEventListener("close", function () {
      if (opener && opener.focus) opener.focus();
      opener = null;
    });
    // A click on the backdrop closes.
    dialog.addEventListener("click", function (e) { if (e.target === dialog) dialog.close(); });
  }
  function open() {
    if (!dialog) build();
    if (dialog.open) { input.focus(); input.select(); return; }
    opener = document.activeElement;
    dialog.showModal();
    input.focus();
    input.select();
    if (!manifest) request("index.js");
    update();
  }
  function go(href) {
    dialog.close();
    window.location.href = href;
  }
  function select(i) {
    var items = list.children;
    if (active >= 0 && items[active]) items[active].setAttribute("aria-selected", "false");
    active = i;
    if (i >= 0 && items[i]) {
      items[i].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", items[i].id);
      items[i].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }
  function update() {
    if (!dialog) return;
    if (failed) { status.textContent = "The search index could not be loaded."; return; }
    var r = search(input.value);
    if (r.loading) { status.textContent = "Loading the index…"; return; }
    shown = r.items;
    list.textContent = "";
    active = -1;
    input.removeAttribute("aria-activedescendant");
    r.items.forEach(function (it, i) {
      var e = it.e;
      var li = el("li", "search-result");
      li.id = "search-opt-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      var a = el("a");
      a.href = e.href;
      a.tabIndex = -1;
      a.appendChild(el(e.code ? "code" : "span", "search-title", e.title));
      a.appendChild(el("span", "search-meta", e.meta));
      if (e.snippet) a.appendChild(el("span", "search-snippet", e.snippet));
      a.addEventListener("click", function (ev) {
        if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
        ev.preventDefault();
        go(e.href);
      });
      li.appendChild(a);
      li.addEventListener("mousemove", function () { if (active !== i) select(i); });
      list.appendChild(li);
    });
    input.setAttribute("aria-expanded", r.items.length ? "true" : "false");
    if (r.items.length) select(0);
    var q = input.value.trim();
    if (!q) status.textContent = "";
    else if (!r.total) status.textContent = "No results.";
    else {
      status.textContent = (r.total > r.items.length ? "First " + r.items.length + " of " + r.total : r.total) +
        (r.total === 1 ? " result" : " results") +
        (r.partial ? " (the best matches of a short word: type more letters to see every match)" : "") + ".";
    }
  }

  // ---------------------------------------------------------------- entry points
  function typing(t) {
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  document.addEventListener("keydown", function (e) {
    if ((e.key === "k" || e.key === "K") && (e.ctrlKey || e.metaKey) && !e.altKey) {
      e.preventDefault();
      open();
    } else if (e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey && !typing(e.target) &&
      !(dialog && dialog.open)) {
      e.preventDefault();
      open();
    }
  });
  document.querySelectorAll("[data-search-open]").forEach(function (b) {
    var k = b.querySelector("kbd");
    if (k) k.textContent = mac ? "⌘ K" : "Ctrl K";
    b.hidden = false;
    b.addEventListener("click", open);
  });

  // A column reached from search (or any #column- link) flashes; CSS :target keeps it marked.
  function flash() {
    var id;
    try { id = decodeURIComponent(location.hash.slice(1)); } catch (err) { return; }
    if (id.indexOf("column-") !== 0) return;
    var target = document.getElementById(id);
    if (!target) return;
    target.classList.remove("search-flash");
    void target.offsetWidth; // restart the animation
    target.classList.add("search-flash");
    setTimeout(function () { target.classList.remove("search-flash"); }, 2500);
  }
  window.addEventListener("hashchange", flash);
  flash();
})();
