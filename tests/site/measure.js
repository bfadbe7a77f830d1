// Browser measurements of the book site for tests/html.rs, through puppeteer-core and headless
// Chromium: cumulative layout shift (Layout Instability API), axe-core violations, whether the
// reading tools cover the end of the page at a phone width, and the reading tools' labels.
// Usage: node measure.js <puppeteer-core dir> <axe-core dir> '<jobs JSON>'
// A job: { file, width, theme: "light" | "dark", checks: ["cls", "axe", "tools"], fontDelay }
// (fontDelay: milliseconds by which every font file is held back, optional).
// Prints one JSON array, one result per job.
"use strict";
const puppeteer = require(process.argv[2]);
const axePath = require("path").join(process.argv[3], "axe.min.js");
const jobs = JSON.parse(process.argv[4]);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const browser = await puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"],
  });
  const results = [];
  for (const job of jobs) {
    // A fresh context per job: no reading position or theme left over from the last page.
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport({ width: job.width, height: 800 });
    // Fonts arrive late, as over a network (from file:// they are sometimes in before the first
    // paint, and the swap a layout shift comes from would go unmeasured).
    if (job.fontDelay) {
      await page.setRequestInterception(true);
      page.on("request", (req) => {
        if (/\.(ttf|otf|woff2?)$/i.test(req.url())) setTimeout(() => req.continue(), job.fontDelay);
        else req.continue();
      });
    }
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: job.theme }]);
    // The reader's choice in the theme control (site.js keeps it in localStorage and sets
    // data-theme on <html>), and the layout shifts from the very start of the page.
    await page.evaluateOnNewDocument((theme) => {
      try { localStorage.setItem("publish:theme", theme); } catch (e) { /* opaque origin */ }
      window.__shifts = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (!e.hadRecentInput) {
            window.__shifts.push({
              value: e.value,
              time: e.startTime,
              sources: (e.sources || []).map((s) => (s.node ? (s.node.nodeName + "." + (s.node.className || "")) : "?")
                + " " + [s.previousRect.y, s.previousRect.height, s.currentRect.y, s.currentRect.height].map(Math.round).join("/")),
            });
          }
        }
      }).observe({ type: "layout-shift", buffered: true });
    }, job.theme);
    await page.goto("file://" + job.file, { waitUntil: "load" });
    await page.evaluate(() => document.fonts.ready);
    await sleep(800);
    const out = { file: job.file, width: job.width, theme: job.theme };
    out.dataTheme = await page.evaluate(() => document.documentElement.getAttribute("data-theme"));
    for (const check of job.checks) {
      if (check === "cls") {
        const shifts = await page.evaluate(() => window.__shifts);
        // CLS: the largest session window (shifts less than 1 s apart, a window at most 5 s).
        let cls = 0, win = 0, first = -1, last = -1;
        for (const s of shifts) {
          if (first < 0 || s.time - last > 1000 || s.time - first > 5000) { win = 0; first = s.time; }
          win += s.value;
          last = s.time;
          cls = Math.max(cls, win);
        }
        out.cls = cls;
        out.shifts = shifts;
      } else if (check === "axe") {
        await page.addScriptTag({ path: axePath });
        const r = await page.evaluate(() => axe.run(document, { resultTypes: ["violations"] }));
        out.axe = [];
        for (const v of r.violations) {
          for (const n of v.nodes) out.axe.push(v.id + " (" + v.impact + "): " + n.html + " — " + n.failureSummary);
        }
        out.axePasses = r.passes.length;
      } else if (check === "tools") {
        // Scroll to the very end: the last paragraph of the text and the footer's last line
        // must not be under the reading tools.
        await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
        await sleep(300);
        out.tools = await page.evaluate(() => {
          const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect(); return { top: r.top, bottom: r.bottom, left: r.left, right: r.right }; };
          const paras = document.querySelectorAll("main p");
          const footer = document.querySelectorAll(".site-footer p");
          return {
            tools: box(document.querySelector(".reader-tools")),
            lastPara: box(paras[paras.length - 1]),
            lastFooter: box(footer[footer.length - 1]),
            viewport: { width: innerWidth, height: innerHeight },
            // Each button's visible sign, with the left edge of each of its characters.
            signs: Array.from(document.querySelectorAll(".reader-tools button")).map((b) => {
              const shown = b.querySelector("[aria-hidden]") || b;
              const text = shown.firstChild;
              const lefts = [];
              for (let i = 0; text && i < text.length; i++) {
                const r = document.createRange();
                r.setStart(text, i);
                r.setEnd(text, i + 1);
                lefts.push(r.getBoundingClientRect().left);
              }
              return { sign: shown.textContent, name: b.textContent.slice(shown.textContent.length), lefts };
            }),
          };
        });
      }
    }
    results.push(out);
    await context.close();
  }
  await browser.close();
  console.log(JSON.stringify(results));
})().catch((e) => { console.error(e); process.exit(1); });
