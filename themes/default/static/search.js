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
  // CJK ideographs, kana and Hangul (as is_cjk in search.rs): every such character starts a word.
  function isCjk(cp) {
    return (cp >= 0x2E80 && cp <= 0x2FDF) || (cp >= 0x3040 && cp <= 0x30FF) ||
      (cp >= 0x3100 && cp <= 0x31FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
      (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) ||
      (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FFFF);
  }
  var DIGIT = /\p{N}/u;
  // A name as it is matched: `s`, its compact form (folded, letters and digits only: `Customer ID`
  // and `customer_id` both give `customerid`), and `b`, the places in `s` where a word of the name
  // starts (the starts of its words(), letter/digit changes, each CJK character) and its end.
  function nameForm(text) {
    var s = "", b = {}, inWord = false, prevLower = false, prev = "";
    for (var ch of text) {
      // `fold` works character by character, so the pieces add up to fold(text).
      var start = true;
      if (isWordChar(ch)) {
        start = !inWord || (prevLower && UPPER.test(ch));
        inWord = true;
        prevLower = LOWER.test(ch);
      } else {
        inWord = false;
        prevLower = false;
      }
      for (var c of fold(ch)) {
        if (!ALNUM.test(c)) continue;
        if (start || isCjk(c.codePointAt(0)) || (prev && DIGIT.test(prev) !== DIGIT.test(c))) {
          b[s.length] = true;
        }
        start = false;
        s += c;
        prev = c;
      }
    }
    b[s.length] = true;
    return { s: s, b: b };
  }
  // A query as it is matched: `s`, its words() end to end, and `starts`, where each of them
  // starts in `s`.
  function queryForm(ws) {
    var s = "", starts = {};
    ws.forEach(function (w) {
      starts[s.length] = true;
      for (var c of w) if (ALNUM.test(c)) s += c;
    });
    return { s: s, starts: starts };
  }
  // Where query `q` matches name `n` (both forms above), -1 if nowhere. A match starts where a
  // word of the name starts, and ends where one starts or the name ends, or inside a name word
  // that starts where a word of the query starts (`customer sat` → Customer Satisfaction, but
  // not `customers` → Customer Satisfaction, nor `tomer` → customer).
  function matchAt(q, n) {
    if (!q.s) return -1;
    for (var i = n.s.indexOf(q.s); i !== -1; i = n.s.indexOf(q.s, i + 1)) {
      if (!n.b[i]) continue;
      var end = i + q.s.length;
      if (!n.b[end]) {
        var w = end - 1;
        while (!n.b[w]) w--;
        if (!q.starts[w - i]) continue;
      }
      return i;
    }
    return -1;
  }
  // 0: the name is the query; 1: it starts with it; 2: it holds it from another word on; 3: none.
  function nameRank(q, n) {
    if (n.s === q.s) return 0;
    var i = matchAt(q, n);
    return i === 0 ? 1 : i > 0 ? 2 : 3;
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
  // Tables, metrics, docs and doc headings: searched by name in the core file. `order` is the
  // catalog order: tables by folder (`folders` is in catalog order), then as declared; metrics
  // as the index lists them (by category, then name, as metrics/index.html); docs by slug with
  // docs/index.html first (as docs/index.html), their headings in page order.
  function prepare(m) {
    m.tables.forEach(function (t, i) {
      var folder = m.folders[t[1]] || [""];
      var label = folder[1] || folder[0];
      entries.push({ kind: 0, order: t[1] * m.tables.length + i, title: t[0],
        meta: "table · " + label, code: true, names: [nameForm(t[0])],
        extra: words(folder.join(" ")), href: hrefTo(t[2] || "tables/" + t[0] + ".html") });
    });
    m.metrics.forEach(function (x, i) {
      entries.push({ kind: 1, order: i, title: x[1] || x[0], meta: "metric · " + x[0] + " · " + x[2],
        names: [x[0], x[1]].concat(x[3]).map(nameForm), extra: words(x[2]),
        href: hrefTo(x[4] || "metrics/" + x[2] + "/" + x[0] + ".html") });
    });
    m.docs.forEach(function (d, i) {
      var place = d[1] === "docs/index.html" ? 0 : i + 1;
      entries.push({ kind: 2, order: place * 1000, title: d[0], meta: "doc",
        names: [nameForm(d[0])], extra: [], href: hrefTo(d[1]) });
      d[2].forEach(function (h, j) {
        entries.push({ kind: 2, order: place * 1000 + j + 1, title: d[0] + " › " + h[0],
          meta: "doc section", names: [nameForm(h[0])], extra: [], href: hrefTo(d[1], h[1]) });
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
  // Whether query word `w` (a queryForm) matches a name of `e` or starts one of its other words.
  function nameMatch(e, w) {
    for (var i = 0; i < e.names.length; i++) if (matchAt(w, e.names[i]) !== -1) return true;
    for (var j = 0; j < e.extra.length; j++) if (e.extra[j].indexOf(w.s) === 0) return true;
    return false;
  }
  // The `j`-th column record of shard `s` as an entry (made once per shard). Its `order` is its
  // table's; among the columns of one table, `j` follows the table's column order (a shard's
  // records are sorted by table, then column position).
  function columnEntry(s, j) {
    var made = s.made || (s.made = []);
    if (made[j]) return made[j];
    var c = s.c[j], t = tableEntry(c[0]);
    return (made[j] = { id: "c" + c[0] + "." + c[1], kind: 3, order: t.order, t: c[0], name: c[1],
      title: t.title + "." + c[1], meta: manifest.types[c[2]] || "", code: true, snippet: c[3],
      names: [nameForm(c[1])], table: t.names[0], extra: [],
      href: t.href + "#" + enc(c[4] || "column-" + c[1]) });
  }
  // Results for `text`: {loading} while index files are on their way, else {items, total, partial}.
  function search(text) {
    var raw = text.trim();
    if (!raw) return { items: [], total: 0 };
    if (!manifest) { request("index.js"); return { loading: true }; }
    var tablePart = null;
    var dot = raw.indexOf(".");
    if (dot > 0 && dot < raw.length - 1 && !/\s/.test(raw)) {
      tablePart = queryForm(words(raw.slice(0, dot)));
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

    // Each query word on its own, for "every word must match".
    var wq = ws.map(function (w) { return queryForm([w]); });
    var found = {}, partial = false;
    // `at[wi]`: for a column, its record number in the shard of word `wi`.
    function add(e, wi, j) {
      var id = e.id || (e.id = "e" + e.kind + "." + e.order);
      var f = found[id] || (found[id] = { e: e, hit: [], at: [] });
      f.hit[wi] = true;
      if (j !== undefined) f.at[wi] = j;
    }
    ws.forEach(function (w, wi) {
      entries.forEach(function (e) { if (nameMatch(e, wq[wi])) add(e, wi); });
      var s = shards[shardKey(w)];
      if (!s) return;
      if (s.p) partial = true;
      for (var i = 0; i < s.w.length; i++) {
        if (s.w[i].indexOf(w) !== 0) {
          // A shard word that `w` starts with (`order` for `orderid`; it is in this shard when
          // at least as long as the key): a column named with it may match `w` across its words.
          if (w.indexOf(s.w[i]) !== 0) continue;
          s.h[i].forEach(function (h) {
            if (h % 4 !== 3) return;
            var c = columnEntry(s, Math.floor(h / 4));
            if (nameMatch(c, wq[wi])) add(c, wi, Math.floor(h / 4));
          });
          continue;
        }
        s.h[i].forEach(function (h) {
          var n = Math.floor(h / 4);
          if (h % 4 === 0) add(entries[n], wi);
          else if (h % 4 === 1) add(entries[manifest.tables.length + n], wi);
          else if (h % 4 === 3) add(columnEntry(s, n), wi, n);
        });
      }
    });
    var q = queryForm(ws);
    var items = [], columnsOf = {};
    Object.keys(found).forEach(function (id) {
      var f = found[id], e = f.e;
      if (tablePart !== null && (e.kind !== 3 || matchAt(tablePart, e.table) === -1)) return;
      for (var wi = 0; wi < ws.length; wi++) {
        if (f.hit[wi]) continue;
        // A column also answers a word that its table's name holds ("orders id").
        if (e.kind === 3 && matchAt(wq[wi], e.table) !== -1) continue;
        if (nameMatch(e, wq[wi])) continue;
        return;
      }
      var rank = 3;
      e.names.forEach(function (n) { rank = Math.min(rank, nameRank(q, n)); });
      var it = { e: e, rank: rank, at: f.at, sub: 0 };
      items.push(it);
      if (e.kind === 3) (columnsOf[e.t] || (columnsOf[e.t] = [])).push(it);
    });
    // The columns of one table in column order: by their records in the shard of the first
    // query word whose shard holds them all (records are in column order within a shard), else
    // by name.
    Object.keys(columnsOf).forEach(function (t) {
      var cols = columnsOf[t];
      for (var wi = 0; wi < ws.length; wi++) {
        if (cols.every(function (it) { return it.at[wi] !== undefined; })) {
          cols.forEach(function (it) { it.sub = it.at[wi]; });
          return;
        }
      }
    });
    items.sort(function (a, b) {
      return a.rank - b.rank || a.e.kind - b.e.kind || a.e.order - b.e.order || a.sub - b.sub ||
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
