// Reader features of the site in headless Chromium (issue 12), on a built site opened from
// file:// (as a reader opens a downloaded site): Back restores the query, a result lands on its
// paragraph with the query's words marked, a footnote jump highlights the note, the arrow keys
// follow the book's direction, `/` and `s` focus the search box, and the reading position is
// offered (not forced) on return. Prints one JSON object with what it saw.
// Usage: node reader.js SITE_DIR QUERY  (PUPPETEER_CORE = the module's folder)
const puppeteer = require(process.env.PUPPETEER_CORE);
const path = require("path");
const { pathToFileURL } = require("url");

(async () => {
  const [site, query] = process.argv.slice(2);
  const url = (p) => pathToFileURL(path.join(site, p)).href;
  const browser = await puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
      "--allow-file-access-from-files"],
  });
  const out = {};
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1000, height: 700 });
    // The query goes through the real search box at once; search.js says when it has shown
    // the results of that query (the index loads shard by shard).
    const search = () => page.evaluate((q) => new Promise((resolve) => {
      const input = document.getElementById("q");
      document.addEventListener("publish-search-done", function h(e) {
        if (e.detail.query !== q) return;
        document.removeEventListener("publish-search-done", h);
        resolve({
          results: document.querySelectorAll("#search-results li.result").length,
          search: location.search,
        });
      });
      input.value = q;
      input.dispatchEvent(new Event("input"));
    }), query);
    // After Back, the page searches by itself from `?q=`: wait until its results are shown.
    const restored = async () => {
      await page.waitForFunction((q) => document.getElementById("q").value === q &&
        document.querySelectorAll("#search-results li.result").length > 0, { timeout: 30000 }, query)
        .catch(() => null);
      return page.evaluate(() => ({
        value: document.getElementById("q").value,
        results: document.querySelectorAll("#search-results li.result").length,
      }));
    };

    // 1. Search from the index, open the first result, come Back.
    await page.goto(url("index.html"), { waitUntil: "load" });
    const before = await search();
    out.searchUrl = before.search;
    out.resultsBefore = before.results;
    const href = await page.$eval("#search-results li.result a", (a) => a.getAttribute("href"));
    out.resultHref = href;
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }),
      page.click("#search-results li.result a")]);
    out.landed = await page.evaluate(() => {
      const id = decodeURIComponent(location.hash.slice(1));
      const el = document.getElementById(id);
      const r = el ? el.getBoundingClientRect() : null;
      return {
        id,
        marks: el ? Array.from(el.querySelectorAll("mark.search-hit")).map((m) => m.textContent) : [],
        inView: !!r && r.top >= -1 && r.top < window.innerHeight,
      };
    });
    await page.goBack({ waitUntil: "load" });
    const after = await restored();
    out.backValue = after.value;
    out.resultsAfterBack = after.results;

    // 2. A footnote reference jumps to its note, which is highlighted as the target.
    await page.goto(url("part-1.html"), { waitUntil: "load" });
    const ref = await page.$("a[role=doc-noteref]");
    out.noteref = !!ref;
    if (ref) {
      const bodyBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      await ref.click();
      await page.waitForFunction(() => location.hash.length > 1);
      out.note = await page.evaluate((bodyBg) => {
        const el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
        if (!el) return null;
        const cs = getComputedStyle(el);
        const r = el.getBoundingClientRect();
        return {
          target: el.matches(":target"),
          highlighted: cs.backgroundColor !== bodyBg && cs.backgroundColor !== "rgba(0, 0, 0, 0)"
            || cs.outlineStyle !== "none",
          inView: r.top >= -1 && r.top < window.innerHeight,
        };
      }, bodyBg);
    }

    // 3. Keys: in a right-to-left book ← goes to the next part, → to the previous one.
    await page.goto(url("part-2.html"), { waitUntil: "load" });
    out.dir = await page.evaluate(() => getComputedStyle(document.documentElement).direction);
    const pager = await page.evaluate(() => ({
      next: document.querySelector("a.pager-next") && document.querySelector("a.pager-next").href,
      prev: document.querySelector("a.pager-prev") && document.querySelector("a.pager-prev").href,
    }));
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.keyboard.press("ArrowLeft")]);
    out.afterLeft = page.url();
    out.expectLeft = out.dir === "rtl" ? pager.next : pager.prev;
    await page.goto(url("part-2.html"), { waitUntil: "load" });
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.keyboard.press("ArrowRight")]);
    out.afterRight = page.url();
    out.expectRight = out.dir === "rtl" ? pager.prev : pager.next;
    await page.goto(url("part-2.html"), { waitUntil: "load" });
    await page.keyboard.press("/");
    out.slashFocus = await page.evaluate(() => document.activeElement && document.activeElement.id);
    await page.evaluate(() => document.activeElement.blur());
    await page.keyboard.press("s");
    out.sFocus = await page.evaluate(() => document.activeElement && document.activeElement.id);
    // Typing in the search box is typing, not navigation.
    await page.keyboard.press("ArrowLeft");
    out.urlAfterArrowInBox = page.url();

    // 4. Reading position: scroll down a part, leave, come back: a link offers the place;
    // nothing moves until it is followed.
    await page.setViewport({ width: 360, height: 300 });
    await page.goto(url("part-1.html"), { waitUntil: "load" });
    const offerFirst = await page.$(".resume a");
    out.offerOnFirstVisit = !!offerFirst;
    const id = await page.evaluate(() => {
      const els = Array.from(document.querySelectorAll("article.part [id]"));
      const el = els[Math.floor(els.length * 2 / 3)];
      el.scrollIntoView();
      window.dispatchEvent(new Event("scroll"));
      return el.id;
    });
    out.scrolledTo = id;
    await new Promise((r) => setTimeout(r, 600));
    await page.goto(url("index.html"), { waitUntil: "load" });
    await page.goto(url("part-1.html"), { waitUntil: "load" });
    out.scrollOnReturn = await page.evaluate(() => window.scrollY);
    const offer = await page.$(".resume a");
    out.offerHref = offer ? await offer.evaluate((a) => a.getAttribute("href")) : null;
    if (offer) {
      await offer.click();
      await page.waitForFunction(() => location.hash.length > 1);
      out.resumed = await page.evaluate(() => {
        const el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
        const r = el.getBoundingClientRect();
        return { id: el.id, inView: r.top >= -1 && r.top < window.innerHeight,
          offerGone: !document.querySelector(".resume") };
      });
    }
    console.log(JSON.stringify(out));
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
