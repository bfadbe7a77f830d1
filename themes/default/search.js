// Arabic-aware search for the publish book site. Vanilla JavaScript, no network: the index is
// `search-index.js`, loaded before this file with a <script> element (works from file://).
//
// normalize(), words() and stems() follow src/write/html/search.rs rule for rule; tests/html.rs
// runs both on one table. Source text only ever reaches the page as DOM text nodes.
(function (root) {
  "use strict";

  // Tashkeel, Quranic marks, tatweel and invisible format characters are removed.
  var REMOVE = /[\u064B-\u065F\u0670\u06D6-\u06ED\u0640\u200B-\u200F\u061C\u202A-\u202E\u2066-\u2069\uFEFF]/g;
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
  var NON_WORD = /[^\p{Alphabetic}\p{N}]+/u;
  // A run of text that may hold one word, marks and tatweel included (for highlighting).
  var TOKEN = /[\p{Alphabetic}\p{N}\p{M}\u0640\u200C\u200D]+/gu;
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

  function words(s) {
    return normalize(s).split(NON_WORD).filter(function (w) { return w !== ""; });
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

  // Does normalised word `w` match query term `t`? 3: the same word, 2: a word beginning with
  // it, 1: the word without its proclitics begins with it, 0: no match.
  function matchWord(w, t) {
    if (w === t) return 3;
    if (w.slice(0, t.length) === t) return 2;
    var s = stems(w);
    for (var i = 0; i < s.length; i++) {
      if (s[i].slice(0, t.length) === t) return 1;
    }
    return 0;
  }

  // Search `index` (the object of search-index.js). Every query word must match; documents are
  // ranked by how well they match, then by reading order.
  function search(index, query, limit) {
    var terms = words(query);
    if (terms.length === 0 || !index) return [];
    var total = null;
    terms.forEach(function (t) {
      var scores = {};
      function add(list, score) {
        list.forEach(function (d) {
          if (!(scores[d] >= score)) scores[d] = score;
        });
      }
      index.words.forEach(function (e) {
        if (e[0] === t) add(e[1], 3);
        else if (e[0].slice(0, t.length) === t) add(e[1], 2);
      });
      index.stems.forEach(function (e) {
        if (e[0].slice(0, t.length) === t) add(e[1], 1);
      });
      if (total === null) {
        total = scores;
      } else {
        var both = {};
        Object.keys(total).forEach(function (d) {
          if (d in scores) both[d] = total[d] + scores[d];
        });
        total = both;
      }
    });
    var docs = Object.keys(total).map(Number);
    docs.sort(function (a, b) { return total[b] - total[a] || a - b; });
    return docs.slice(0, limit || 50).map(function (d) {
      var doc = index.docs[d];
      var part = index.parts[doc[0]];
      return {
        doc: d,
        part: part,
        href: part.href + "#" + doc[1],
        text: doc[2],
        marks: highlights(doc[2], terms)
      };
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
        return terms.some(function (t) { return matchWord(w, t) > 0; });
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

  function render(doc, index, query, results, status) {
    while (results.firstChild) results.removeChild(results.firstChild);
    var strings = index.strings || {};
    if (words(query).length === 0) {
      status.textContent = "";
      return;
    }
    var found = search(index, query, 50);
    status.textContent = found.length
      ? (strings.found || "%d").replace("%d", formatNumber(found.length, index.digits))
      : strings.none || "0";
    found.forEach(function (r) {
      var li = doc.createElement("li");
      var a = doc.createElement("a");
      a.href = r.href;
      var label = doc.createElement("span");
      label.className = "result-part";
      label.textContent = r.part.label;
      a.appendChild(label);
      if (r.part.title) {
        a.appendChild(doc.createTextNode(" "));
        var title = doc.createElement("span");
        title.className = "result-title";
        title.textContent = r.part.title;
        a.appendChild(title);
      }
      li.appendChild(a);
      var p = doc.createElement("p");
      p.className = "snippet";
      p.appendChild(snippet(doc, r.text, r.marks));
      li.appendChild(p);
      results.appendChild(li);
    });
  }

  function init(doc, index) {
    var input = doc.getElementById("q");
    var results = doc.getElementById("search-results");
    var status = doc.getElementById("search-status");
    if (!input || !results || !status || !index) return;
    // The search box is hidden until this script runs: without it, it could not work.
    var section = doc.getElementById("search");
    if (section) section.hidden = false;
    var form = input.form;
    function run() {
      render(doc, index, input.value, results, status);
    }
    input.addEventListener("input", run);
    if (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        run();
      });
    }
    // index.html?q=… (the search form of the other pages) opens with the results shown.
    var q = new URLSearchParams(root.location.search).get("q");
    if (q) {
      input.value = q;
      run();
    }
  }

  root.PublishSearch = {
    normalize: normalize,
    words: words,
    stems: stems,
    search: search,
    snippet: snippet
  };
  if (typeof root.document !== "undefined") {
    var start = function () { init(root.document, root.publishSearchIndex); };
    if (root.document.readyState === "loading") {
      root.document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
  }
})(typeof window !== "undefined" ? window : globalThis);
