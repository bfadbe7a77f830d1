// Opens a part page served by `publish serve` in headless Chromium, edits the part's source
// once the page's live-reload stream is open, and waits for the page to show the new text
// without any reload from here. Prints "ok" on success.
// Usage: node live-reload.js URL SOURCE_FILE MARKER  (PUPPETEER_CORE = the module's folder)
const puppeteer = require(process.env.PUPPETEER_CORE);
const fs = require("fs");

(async () => {
  const [url, source, marker] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: "load" });
    if (await page.evaluate((m) => document.body.innerText.includes(m), marker)) {
      throw new Error("the marker is on the page before the edit");
    }
    await page.waitForSelector("html[data-publish-live]", { timeout: 30000 });
    const text = fs.readFileSync(source, "utf8");
    const edited = text.replace("مقدمة\n\n", "مقدمة\n\n" + marker + "\n\n");
    if (edited === text) throw new Error("the source has no heading line to edit after");
    fs.writeFileSync(source, edited);
    await page.waitForFunction((m) => document.body.innerText.includes(m), { timeout: 60000 }, marker);
    console.log("ok");
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
