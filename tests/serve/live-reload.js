// Opens a part page served by `publish serve` in headless Chromium, scrolls it to the middle,
// edits the part's source once the page's live-reload stream is open, and waits for the page
// to show the new text without any reload from here; then checks that the page was updated in
// place (an edit inside the part does not reload it: a value set on `window` is still there)
// and is at the same scroll position. With EDITS > 1 it does that EDITS times and prints the
// time from each save to the new text shown (`shown_ms N`), for bench/live.py.
// Prints "ok" on success.
// Usage: node live-reload.js URL SOURCE_FILE MARKER [EDITS]  (PUPPETEER_CORE = the module's folder)
const puppeteer = require(process.env.PUPPETEER_CORE);
const fs = require("fs");

(async () => {
  const [url, source, marker, editsArg] = process.argv.slice(2);
  const edits = Number(editsArg || 1);
  const browser = await puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    // A small window, so that even a short part scrolls.
    await page.setViewport({ width: 360, height: 360 });
    await page.goto(url, { waitUntil: "load" });
    if (await page.evaluate((m) => document.body.innerText.includes(m), marker)) {
      throw new Error("the marker is on the page before the edit");
    }
    for (let i = 0; i < edits; i++) {
      const m = edits > 1 ? `${marker} ${i}` : marker;
      await page.waitForSelector("html[data-publish-live]", { timeout: 30000 });
      const want = await page.evaluate(() => {
        const y = Math.floor((document.documentElement.scrollHeight - window.innerHeight) / 2);
        window.scrollTo(0, y);
        return window.scrollY;
      });
      if (want < 100) throw new Error(`the page is too short to scroll (${want} px)`);
      await page.evaluate((i) => { window.publishTestKept = i; }, i);
      const text = fs.readFileSync(source, "utf8");
      // A new paragraph after the heading «مقدمة» (the `publish new` example part), else at
      // the end (the benchmark corpus).
      const edited = text.includes("مقدمة\n\n")
        ? text.replace("مقدمة\n\n", "مقدمة\n\n" + m + "\n\n")
        : text.replace(/\n*$/, "\n\n" + m + "\n");
      const saved = Date.now();
      fs.writeFileSync(source, edited);
      await page.waitForFunction((m) => document.body.innerText.includes(m),
        { timeout: 60000 }, m);
      const shown = Date.now() - saved;
      const kept = await page.evaluate(() => window.publishTestKept);
      if (kept !== i) throw new Error("the page was reloaded, not updated in place");
      // The reload restores the position on `load`.
      await page.waitForFunction(() => document.readyState === "complete", { timeout: 30000 });
      await page.waitForFunction((y) => Math.abs(window.scrollY - y) <= 2, { timeout: 5000 }, want)
        .catch(async () => {
          const got = await page.evaluate(() => window.scrollY);
          throw new Error(`scroll position not kept: was ${want}, now ${got}`);
        });
      console.log(`shown_ms ${shown}`);
    }
    console.log("ok");
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
