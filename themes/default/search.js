// Arabic-aware search for the publish book site. Vanilla JavaScript, no network. The index is
// the `search/` folder of small scripts (written by src/write/html/search.rs), loaded with
// <script> elements (which work from file://, where fetch does not) only when the reader
// searches: `meta.js` first, then the term shards of the query's prefixes, then the snippet
// chunks of the results shown.
//
// normalize(), words() and stems() follow src/write/html/search.rs rule for rule; tests/html.rs
// runs both on one table. Source text only ever reaches the page as DOM text nodes.
(function (root) {
  "use strict";

  // Tashkeel, Quranic marks, tatweel and invisible format characters are removed.
  // Hebrew cantillation and points too (not the maqaf U+05BE or sof pasuq U+05C3).
  var REMOVE = /[\u064B-\u065F\u0670\u06D6-\u06ED\u0640\u200B-\u200F\u061C\u202A-\u202E\u2066-\u2069\uFEFF\u0591-\u05BD\u05BF\u05C1\u05C2\u05C4\u05C5\u05C7]/g;
  var MAP = {
    "\u0623": "\u0627", // أ → ا
    "\u0625": "\u0627", // إ → ا
    "\u0622": "\u0627", // آ → ا
    "\u0671": "\u0627", // ٱ → ا
    "\u0672": "\u0627", // ٲ → ا
    "\u0673": "\u0627", // ٳ → ا
    "\u0649": "\u064A", // ى → ي
    "\u0626": "\u064A", // ئ → ي
    "\u06CC": "\u064A", // ی → ي
    "\u0629": "\u0647", // ة → ه
    "\u0624": "\u0648", // ؤ → و
    "\u06A9": "\u0643" // ک → ك
  };
  var MAPPED = /[\u0623\u0625\u0622\u0671\u0672\u0673\u0649\u0626\u06CC\u0629\u0624\u06A9]/g;
  var DIGITS = /[\u0660-\u0669\u06F0-\u06F9]/g;
  var WORD_CHAR = /[\p{Alphabetic}\p{N}]/u;
  var ASCII_ALNUM = /^[0-9a-zA-Z]$/;
  // A run of text that may hold one word, marks and tatweel included, with inner full stops
  // (`H.264`): for highlighting, where words() then decides what the run holds.
  var TOKEN = /[\p{Alphabetic}\p{N}\p{M}\u0640\u200C\u200D]+(?:\.[\p{Alphabetic}\p{N}\p{M}]+)*/gu;
  var MIN_STEM = 3;

  function normalize(s) {
    return String(s)
      .replace(REMOVE, "")
      .replace(MAPPED, function (c) { return MAP[c]; })
      .replace(DIGITS, function (c) {
        var u = c.charCodeAt(0);
        return String(u >= 0x06F0 ? u - 0x06F0 : u - 0x0660);
      })
      .toLowerCase();
  }

  // A full stop between two ASCII letters or digits, one a digit, stays inside the word.
  function joinsDot(chars, i) {
    var a = chars[i - 1], b = chars[i + 1];
    return a !== undefined && b !== undefined && ASCII_ALNUM.test(a) && ASCII_ALNUM.test(b) &&
      (/[0-9]/.test(a) || /[0-9]/.test(b));
  }

  function words(s) {
    var chars = Array.from(normalize(s));
    var out = [];
    var cur = "";
    for (var i = 0; i < chars.length; i++) {
      var c = chars[i];
      if (WORD_CHAR.test(c) || (c === "." && joinsDot(chars, i))) {
        cur += c;
      } else if (cur !== "") {
        out.push(cur);
        cur = "";
      }
    }
    if (cur !== "") out.push(cur);
    return out;
  }

  function stripPrefix(s, p) {
    return s.slice(0, p.length) === p ? s.slice(p.length) : null;
  }

  function len(s) {
    return Array.from(s).length;
  }

  // Conjunction (و ف), then preposition (ب ل ك), then article (ال; «لل» is ل + ال).
  function stems(word) {
    var out = [];
    ["", "\u0648", "\u0641"].forEach(function (conj) {
      var r1 = stripPrefix(word, conj);
      if (r1 === null) return;
      var afterPrep = [];
      ["", "\u0628", "\u0644", "\u0643"].forEach(function (prep) {
        var r2 = stripPrefix(r1, prep);
        if (r2 === null) return;
        if (prep === "\u0644" && r2.charAt(0) === "\u0644") return;
        afterPrep.push(r2);
      });
      var candidates = [];
      afterPrep.forEach(function (r2) {
        candidates.push(r2);
        var r3 = stripPrefix(r2, "\u0627\u0644");
        if (r3 !== null) candidates.push(r3);
      });
      var ll = stripPrefix(r1, "\u0644\u0644");
      if (ll !== null) candidates.push(ll);
      candidates.forEach(function (c) {
        if (c !== word && len(c) >= MIN_STEM && out.indexOf(c) < 0) out.push(c);
      });
    });
    // Longest first (UTF-8 length, as the Rust side sorts), then by code point.
    out.sort(function (a, b) {
      var d = utf8Length(b) - utf8Length(a);
      if (d !== 0) return d;
      return a < b ? -1 : a > b ? 1 : 0;
    });
    return out;
  }

  function utf8Length(s) {
    var n = 0;
    for (var ch of s) {
      var u = ch.codePointAt(0);
      n += u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;
    }
    return n;
  }


  // Shortest query form (in characters) matched as a word beginning; shorter ones match whole
  // words only (a one- or two-letter prefix would load and match most of the index).
  var MIN_PREFIX = 3;
  // Most term shards one query form may load; a form that would need more matches whole words.
  var MAX_FANOUT = 12;
  // Results shown at first and added by each "more".
  var PAGE = 20;

  // A query word's forms: itself and its stems (the same stripping as the index's words).
  function forms(t) {
    return [t].concat(stems(t));
  }

  // Does normalised word `w` match query word `t`? Some form of `w` equals, or begins with, some
  // form of `t` (beginnings only for forms of MIN_PREFIX letters or more).
  function matchWord(w, t) {
    var fw = forms(w), ft = forms(t);
    for (var i = 0; i < fw.length; i++) {
      for (var j = 0; j < ft.length; j++) {
        if (fw[i] === ft[j]) return true;
        if (len(ft[j]) >= MIN_PREFIX && fw[i].slice(0, ft[j].length) === ft[j]) return true;
      }
    }
    return false;
  }

  // The words of a query, and its phrases: runs in "…", «…» or “…” of two words or more.
  function parseQuery(q) {
    var phrases = [];
    var re = /"([^"]*)"|\u00AB([^\u00BB]*)\u00BB|\u201C([^\u201D]*)\u201D/g;
    var m;
    while ((m = re.exec(q)) !== null) {
      var ws = words(m[1] || m[2] || m[3] || "");
      if (ws.length > 1) phrases.push(ws);
    }
    var terms = [];
    words(q).forEach(function (w) { if (terms.indexOf(w) < 0) terms.push(w); });
    return { terms: terms, phrases: phrases };
  }

  // Does the normalised word list `ws` hold `phrase` as consecutive words?
  function hasPhrase(ws, phrase) {
    for (var i = 0; i + phrase.length <= ws.length; i++) {
      var ok = true;
      for (var j = 0; j < phrase.length && ok; j++) ok = matchWord(ws[i + j], phrase[j]);
      if (ok) return true;
    }
    return false;
  }

  // ---- Loading the index -------------------------------------------------------------------

  var store = { meta: null, shards: {}, chunks: {}, scripts: {} };
  var base = (function () {
    var cur = typeof document !== "undefined" && document.currentScript;
    var src = cur && cur.src ? cur.src : "";
    return src.slice(0, src.lastIndexOf("/") + 1);
  })();

  // Load `search/<name>.js` once; resolves when it has run.
  function load(name) {
    if (!store.scripts[name]) {
      store.scripts[name] = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = base + "search/" + name + ".js";
        s.async = true;
        s.onload = function () { resolve(); };
        s.onerror = function () { delete store.scripts[name]; reject(new Error(name)); };
        document.head.appendChild(s);
      });
    }
    return store.scripts[name];
  }

  function meta() {
    return load("meta").then(function () { return store.meta; });
  }

  // The term shards a query form needs: the one whose prefix begins the form, and for prefix
  // matching every shard whose prefix begins with the form.
  function shardsFor(m, f) {
    var exactOnly = len(f) < MIN_PREFIX;
    var own = [], longer = [];
    m.shards.forEach(function (s, n) {
      var p = s[0];
      if (f.slice(0, p.length) === p && (!s[1] || p === f)) own.push(n);
      else if (!exactOnly && p.length > f.length && p.slice(0, f.length) === f) longer.push(n);
    });
    if (longer.length + own.length > MAX_FANOUT) return { exact: true, shards: own };
    return { exact: exactOnly, shards: own.concat(longer) };
  }

  // Documents matching query word `t`, with scores: 3 the word itself, 2 a word beginning with
  // it, 1 a match through proclitics stripped from the query or the text.
  function lookup(m, t) {
    var scores = new Map();
    var jobs = forms(t).map(function (f, i) {
      var need = shardsFor(m, f);
      return Promise.all(need.shards.map(function (n) { return load("t" + n); })).then(function () {
        need.shards.forEach(function (n) {
          store.shards[n].forEach(function (e) {
            var key = e[0];
            var hit = key === f || (!need.exact && key.slice(0, f.length) === f);
            if (!hit) return;
            var score = i === 0 && e[1] === 0 ? (key === f ? 3 : 2) : 1;
            var d = 0;
            var deltas = e[2];
            for (var k = 0; k < deltas.length; k++) {
              d += deltas[k];
              if (!(scores.get(d) >= score)) scores.set(d, score);
            }
          });
        });
      });
    });
    return Promise.all(jobs).then(function () { return scores; });
  }

  function bisect(list, x, key) {
    var lo = 0, hi = list.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (key(list[mid]) <= x) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  function partOf(m, d) { return bisect(m.parts, d, function (p) { return p[3]; }); }
  function chunkOf(m, d) { return bisect(m.chunks, d, function (c) { return c; }); }

  // Load the snippet chunks of documents `docs`; resolves to doc → [anchor, text].
  function texts(m, docs) {
    var need = [];
    docs.forEach(function (d) {
      var c = chunkOf(m, d);
      if (need.indexOf(c) < 0) need.push(c);
    });
    return Promise.all(need.map(function (c) { return load("s" + c); })).then(function () {
      var out = new Map();
      docs.forEach(function (d) {
        var c = chunkOf(m, d);
        out.set(d, store.chunks[c][d - m.chunks[c]]);
      });
      return out;
    });
  }

  // Search: every query word must match; quoted phrases must occur in order. Resolves to
  // { terms, docs: [doc…] in reading order, scores } (all matches: the count is the true one).
  function search(query) {
    var q = parseQuery(query);
    if (q.terms.length === 0) return Promise.resolve({ terms: [], docs: [], scores: new Map() });
    return meta().then(function (m) {
      return Promise.all(q.terms.map(function (t) { return lookup(m, t); })).then(function (all) {
        all.sort(function (a, b) { return a.size - b.size; });
        var scores = new Map();
        all[0].forEach(function (s, d) {
          var total = s;
          for (var i = 1; i < all.length; i++) {
            var x = all[i].get(d);
            if (x === undefined) return;
            total += x;
          }
          scores.set(d, total);
        });
        var docs = Array.from(scores.keys()).sort(function (a, b) { return a - b; });
        if (q.phrases.length === 0) return { terms: q.terms, docs: docs, scores: scores, meta: m };
        // Phrases are checked in the text of the candidates (the index keeps no positions).
        return texts(m, docs).then(function (tx) {
          docs = docs.filter(function (d) {
            var ws = words(tx.get(d)[1]);
            return q.phrases.every(function (p) { return hasPhrase(ws, p); });
          });
          return { terms: q.terms, docs: docs, scores: scores, meta: m };
        });
      });
    });
  }

  // [start, end] UTF-16 ranges of the words of `text` that match a term.
  function highlights(text, terms) {
    var out = [];
    var m;
    TOKEN.lastIndex = 0;
    while ((m = TOKEN.exec(text)) !== null) {
      var ws = words(m[0]);
      var hit = ws.some(function (w) {
        return terms.some(function (t) { return matchWord(w, t); });
      });
      if (hit) out.push([m.index, m.index + m[0].length]);
    }
    return out;
  }

  // A short passage around the first match, as DOM nodes: text nodes and <mark> elements.
  function snippet(doc, text, marks, width) {
    var frag = doc.createDocumentFragment();
    width = width || 160;
    var first = marks.length ? marks[0][0] : 0;
    var start = Math.max(0, first - Math.floor(width / 3));
    if (start > 0) {
      var space = text.indexOf(" ", start);
      start = space >= 0 && space < first ? space + 1 : start;
    }
    var end = Math.min(text.length, start + width);
    if (end < text.length) {
      var back = text.lastIndexOf(" ", end);
      end = back > first ? back : end;
    }
    if (start > 0) frag.appendChild(doc.createTextNode("… "));
    var pos = start;
    marks.forEach(function (r) {
      if (r[0] < pos || r[1] > end) return;
      frag.appendChild(doc.createTextNode(text.slice(pos, r[0])));
      var mark = doc.createElement("mark");
      mark.textContent = text.slice(r[0], r[1]);
      frag.appendChild(mark);
      pos = r[1];
    });
    frag.appendChild(doc.createTextNode(text.slice(pos, end)));
    if (end < text.length) frag.appendChild(doc.createTextNode(" …"));
    return frag;
  }

  function formatNumber(n, digits) {
    var zero = digits === "western" ? 0x30 : digits === "persian" ? 0x06F0 : 0x0660;
    return String(n).replace(/[0-9]/g, function (c) {
      return String.fromCharCode(zero + (c.charCodeAt(0) - 0x30));
    });
  }

  // ---- The search box ------------------------------------------------------------------------

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
  }

  // Show results `r.docs.slice(0, shown)` grouped by part, each group with its true count.
  function render(doc, ui, query, r, shown) {
    var m = r.meta;
    var strings = m.strings || {};
    var visible = r.docs.slice(0, shown);
    return texts(m, visible).then(function (tx) {
      if (ui.generation !== ui.current) return;
      clear(ui.results);
      var counts = new Map();
      r.docs.forEach(function (d) {
        var p = partOf(m, d);
        counts.set(p, (counts.get(p) || 0) + 1);
      });
      ui.status.textContent = (strings.found || "%d")
        .replace("%d", formatNumber(r.docs.length, m.digits))
        .replace("%p", formatNumber(counts.size, m.digits));
      var list = null, last = -1;
      visible.forEach(function (d) {
        var p = partOf(m, d);
        var part = m.parts[p];
        if (p !== last) {
          last = p;
          var group = doc.createElement("li");
          group.className = "result-group";
          var head = doc.createElement("p");
          head.className = "result-head";
          var label = doc.createElement("span");
          label.className = "result-part";
          label.textContent = part[0];
          head.appendChild(label);
          if (part[1]) {
            head.appendChild(doc.createTextNode(" "));
            var title = doc.createElement("span");
            title.className = "result-title";
            title.textContent = part[1];
            head.appendChild(title);
          }
          var count = doc.createElement("span");
          count.className = "result-count";
          count.textContent = " (" + formatNumber(counts.get(p), m.digits) + ")";
          head.appendChild(count);
          group.appendChild(head);
          list = doc.createElement("ol");
          list.className = "result-list";
          group.appendChild(list);
          ui.results.appendChild(group);
        }
        var t = tx.get(d);
        var li = doc.createElement("li");
        li.className = "result";
        var a = doc.createElement("a");
        // The target page highlights the query's words in the paragraph it lands on.
        a.href = part[2] + "?h=" + encodeURIComponent(query) + "#" + t[0];
        var p2 = doc.createElement("span");
        p2.className = "snippet";
        p2.appendChild(snippet(doc, t[1], highlights(t[1], r.terms)));
        a.appendChild(p2);
        li.appendChild(a);
        list.appendChild(li);
      });
      if (ui.more) ui.more.hidden = shown >= r.docs.length;
      ui.status.setAttribute("data-count", String(r.docs.length));
    });
  }

  function setQueryInUrl(q) {
    if (!root.history || !root.history.replaceState) return;
    try {
      var u = new URL(root.location.href);
      if (q) u.searchParams.set("q", q); else u.searchParams.delete("q");
      u.searchParams.delete("h");
      root.history.replaceState(root.history.state, "", u.href);
    } catch (e) {
      // Some file:// contexts refuse; the search still works.
    }
  }

  function done(doc, query) {
    doc.dispatchEvent(new CustomEvent("publish-search-done", { detail: { query: query } }));
  }

  function init(doc) {
    var input = doc.getElementById("q");
    var results = doc.getElementById("search-results");
    var status = doc.getElementById("search-status");
    if (!input || !results || !status) return;
    var ui = { results: results, status: status, generation: 0, current: 0, more: null, last: null };
    var more = doc.createElement("button");
    more.type = "button";
    more.className = "search-more";
    more.hidden = true;
    results.parentNode.insertBefore(more, results.nextSibling);
    ui.more = more;
    more.addEventListener("click", function () {
      if (!ui.last) return;
      ui.shown += PAGE;
      render(doc, ui, ui.last.query, ui.last.r, ui.shown).then(function () { done(doc, ui.last.query); });
    });
    function run() {
      var query = input.value;
      var gen = ++ui.generation;
      ui.current = gen;
      setQueryInUrl(query.trim() ? query : "");
      if (parseQuery(query).terms.length === 0) {
        clear(results);
        status.textContent = "";
        more.hidden = true;
        doc.documentElement.classList.remove("searching");
        done(doc, query);
        return;
      }
      doc.documentElement.classList.add("searching");
      search(query).then(function (r) {
        if (gen !== ui.current) return;
        var strings = r.meta.strings || {};
        more.textContent = strings.more || "…";
        if (r.docs.length === 0) {
          clear(results);
          more.hidden = true;
          status.textContent = strings.none || "0";
          status.setAttribute("data-count", "0");
          done(doc, query);
          return;
        }
        ui.last = { query: query, r: r };
        ui.shown = PAGE;
        return render(doc, ui, query, r, PAGE).then(function () { done(doc, query); });
      }).catch(function () {
        status.textContent = "";
        done(doc, query);
      });
    }
    input.addEventListener("input", run);
    // The parts and shard tables (a few KB) load when the reader heads for the box, so typing
    // waits for one round trip less.
    ["focus", "pointerenter", "touchstart"].forEach(function (ev) {
      input.addEventListener(ev, function () { meta().catch(function () {}); }, { once: true, passive: true });
    });
    if (input.form) {
      input.form.addEventListener("submit", function (e) {
        e.preventDefault();
        run();
      });
    }
    // ?q=… (a shared link, Back, or the search form of a page without script) shows results;
    // so does text typed before this script ran.
    var q = new URLSearchParams(root.location.search).get("q");
    if (q) input.value = q;
    if (input.value) run();
    highlightTarget(doc);
    root.addEventListener("hashchange", function () { highlightTarget(doc); });
  }

  // A page opened from a result (`?h=query#anchor`): mark the query's words in the paragraph.
  function highlightTarget(doc) {
    var h = new URLSearchParams(root.location.search).get("h");
    var id = decodeURIComponent(root.location.hash.slice(1));
    var el = id && doc.getElementById(id);
    if (!h || !el) return;
    var terms = parseQuery(h).terms;
    var walker = doc.createTreeWalker(el, 4);
    var nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    nodes.forEach(function (node) {
      var text = node.nodeValue;
      var marks = highlights(text, terms);
      if (!marks.length) return;
      var frag = doc.createDocumentFragment();
      var pos = 0;
      marks.forEach(function (r) {
        frag.appendChild(doc.createTextNode(text.slice(pos, r[0])));
        var mark = doc.createElement("mark");
        mark.className = "search-hit";
        mark.textContent = text.slice(r[0], r[1]);
        frag.appendChild(mark);
        pos = r[1];
      });
      frag.appendChild(doc.createTextNode(text.slice(pos)));
      node.parentNode.replaceChild(frag, node);
    });
  }

  var api = root.PublishSearch || {};
  api.normalize = normalize;
  api.words = words;
  api.stems = stems;
  api.matchWord = matchWord;
  api.parseQuery = parseQuery;
  api.search = search;
  api.snippet = snippet;
  api.meta = function (n, data) { store.meta = data; };
  api.shard = function (n, data) { store.shards[n] = data; };
  api.chunk = function (n, data) { store.chunks[n] = data; };
  root.PublishSearch = api;
  if (typeof root.document !== "undefined") {
    var start = function () { init(root.document); };
    if (root.document.readyState === "loading") {
      root.document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
  }
})(typeof window !== "undefined" ? window : globalThis);
