// Reader features of the publish book site, all progressive (the pages read fine without
// them): keyboard navigation that follows the page's direction (← is "next" in a right-to-left
// book), `s` or `/` to focus the search box, text size and light/sepia/dark themes (kept in
// localStorage), and the reading position of each part, offered (never forced) on return.
(function (root) {
  "use strict";
  var doc = root.document;
  var html = doc.documentElement;
  var store = {
    get: function (k) { try { return root.localStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) { try { root.localStorage.setItem(k, v); } catch (e) { /* private mode */ } }
  };
  var rtl = getComputedStyle(html).direction === "rtl";
  var strings = rtl
    ? { tools: "أدوات القراءة", smaller: "تصغير النص", larger: "تكبير النص", theme: "المظهر",
        auto: "تلقائي", light: "فاتح", sepia: "بني فاتح", dark: "داكن", resume: "تابع من حيث توقفت", dismiss: "إغلاق" }
    : { tools: "Reading tools", smaller: "Smaller text", larger: "Larger text", theme: "Theme",
        auto: "Automatic", light: "Light", sepia: "Sepia", dark: "Dark", resume: "Continue where you left off", dismiss: "Close" };

  // Text size (percent) and theme chosen earlier.
  var SIZES = [90, 100, 112, 125, 140];
  function applySize(v) {
    if (v && v !== "100") html.style.fontSize = v + "%"; else html.style.removeProperty("font-size");
  }
  function applyTheme(t) {
    if (t === "light" || t === "sepia" || t === "dark") html.setAttribute("data-theme", t);
    else html.removeAttribute("data-theme");
  }
  applySize(store.get("publish:size"));
  applyTheme(store.get("publish:theme"));

  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  doc.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || typing(e)) return;
    if (e.key === "s" || e.key === "/") {
      var q = doc.getElementById("q");
      if (q) { e.preventDefault(); q.focus(); }
      return;
    }
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight" || e.shiftKey) return;
    // The arrow pointing toward the end of the line goes forward: left in right-to-left text.
    var forward = (e.key === "ArrowLeft") === rtl;
    var link = doc.querySelector(forward ? "a.pager-next" : "a.pager-prev");
    if (link) { e.preventDefault(); root.location.href = link.href; }
  });

  // A button showing a short sign (`A+`, `×`) and named by words: the sign is hidden from
  // screen readers and isolated left to right (in an Arabic page an unisolated "A+" shows as
  // "+A"); the words are its accessible name, and its tooltip.
  function button(label, sign, onClick) {
    var b = doc.createElement("button");
    b.type = "button";
    b.title = label;
    var shown = doc.createElement("bdi");
    shown.dir = "ltr";
    shown.setAttribute("aria-hidden", "true");
    shown.textContent = sign;
    var name = doc.createElement("span");
    name.className = "visually-hidden";
    name.textContent = label;
    b.appendChild(shown);
    b.appendChild(name);
    b.addEventListener("click", onClick);
    return b;
  }

  // The reading tools: fixed at the page's end corner, so adding them moves nothing; the page
  // keeps room below its end for them (site.css), so they never cover its last lines. A
  // complementary landmark, so that no content is outside the page's landmarks.
  var bar = doc.createElement("aside");
  bar.className = "reader-tools";
  bar.setAttribute("aria-label", strings.tools);
  function step(d) {
    var cur = Number(store.get("publish:size") || 100);
    var i = SIZES.indexOf(cur);
    if (i < 0) i = 1;
    var v = String(SIZES[Math.max(0, Math.min(SIZES.length - 1, i + d))]);
    store.set("publish:size", v);
    applySize(v);
  }
  bar.appendChild(button(strings.smaller, "A−", function () { step(-1); }));
  bar.appendChild(button(strings.larger, "A+", function () { step(1); }));
  var select = doc.createElement("select");
  select.setAttribute("aria-label", strings.theme);
  [["", strings.auto], ["light", strings.light], ["sepia", strings.sepia], ["dark", strings.dark]].forEach(function (o) {
    var opt = doc.createElement("option");
    opt.value = o[0];
    opt.textContent = o[1];
    select.appendChild(opt);
  });
  select.value = store.get("publish:theme") || "";
  select.addEventListener("change", function () {
    store.set("publish:theme", select.value);
    applyTheme(select.value);
  });
  bar.appendChild(select);
  doc.body.appendChild(bar);

  // Reading position of a part page: the first paragraph in view, saved as the reader scrolls;
  // on return (without a #target) a button offers to go back there.
  var article = doc.querySelector("article.part");
  if (!article || doc.querySelectorAll("article.part").length !== 1) return;
  var key = "publish:pos:" + root.location.pathname;
  var saved = store.get(key);
  if (saved && !root.location.hash && doc.getElementById(saved)) {
    var offer = doc.createElement("div");
    offer.className = "resume";
    offer.setAttribute("role", "region");
    offer.setAttribute("aria-label", strings.resume);
    var go = doc.createElement("a");
    go.href = "#" + saved;
    go.textContent = strings.resume;
    offer.appendChild(go);
    offer.appendChild(button(strings.dismiss, "×", function () { offer.remove(); }));
    go.addEventListener("click", function () { offer.remove(); });
    doc.body.appendChild(offer);
  }
  var timer = 0;
  root.addEventListener("scroll", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var els = article.querySelectorAll("[id]");
      for (var i = 0; i < els.length; i++) {
        if (els[i].getBoundingClientRect().bottom > 0) {
          store.set(key, els[i].id);
          return;
        }
      }
    }, 200);
  }, { passive: true });
})(window);
