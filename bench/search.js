// The search benchmark (issue 12): for a built site, the bytes transferred before the first
// result and the time from typing to the first result, cold, in headless Chromium over HTTP
// (file:// loads bypass network throttling) on a slow-4G profile: 1.6 Mbps down, 750 kbps up,
// 150 ms round trip, CPU slowed 4×. Fonts and the page itself (HTML, CSS) are not counted.
// Usage: node bench/search.js <site folder> <query> → one JSON line.
"use strict";
const http = require("http");
const fs = require("fs");
const path = require("path");
const { execSync } = require("child_process");
const puppeteer = require(path.join(execSync("npm root -g").toString().trim(), "puppeteer-core"));

const [site, query] = process.argv.slice(2);
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
  ".css": "text/css", ".ttf": "font/ttf", ".woff2": "font/woff2", ".otf": "font/otf" };

const server = http.createServer((req, res) => {
  const file = path.join(site, decodeURIComponent(new URL(req.url, "http://x").pathname));
  if (!file.startsWith(path.resolve(site)) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    res.writeHead(404); res.end(); return;
  }
  res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream",
    "cache-control": "no-store" });
  fs.createReadStream(file).pipe(res);
});

(async () => {
  await new Promise(r => server.listen(0, "127.0.0.1", r));
  const port = server.address().port;
  const browser = await puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const page = await browser.newPage();
  const cdp = await page.target().createCDPSession();
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 150,
    downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  const urls = new Map();
  const bytes = new Map();
  cdp.on("Network.requestWillBeSent", e => urls.set(e.requestId, e.request.url));
  cdp.on("Network.loadingFinished", e => bytes.set(e.requestId, e.encodedDataLength));
  const t0 = Date.now();
  await page.goto(`http://127.0.0.1:${port}/index.html`, { waitUntil: "load" });
  const loaded = Date.now() - t0;
  // Counted: everything but fonts and the page (HTML and CSS): the search's own cost.
  const counted = () => {
    let n = 0; const files = [];
    for (const [id, b] of bytes) {
      const u = urls.get(id) || "";
      if (/\.(ttf|otf|woff2?|html|css)(\?|$)/.test(u)) continue;
      n += b; files.push(u.replace(/^.*\//, ""));
    }
    return { n, files };
  };
  const before = counted().n;
  const ms = await page.evaluate(q => new Promise(resolve => {
    const input = document.getElementById("q");
    document.addEventListener("publish-search-done", function h() {
      if (!document.querySelector("#search-results li")) return;
      document.removeEventListener("publish-search-done", h);
      resolve(performance.now() - t);
    });
    input.focus();
    input.value = q;
    const t = performance.now();
    input.dispatchEvent(new Event("input"));
  }), query);
  await new Promise(r => setTimeout(r, 200));
  const after = counted();
  const count = await page.$eval("#search-status", e => e.getAttribute("data-count"));
  console.log(JSON.stringify({ query, loaded_ms: loaded, first_result_ms: Math.round(ms),
    bytes_before_typing: before, bytes_to_first_result: after.n, requests: after.files.length,
    results: Number(count) }));
  await browser.close();
  server.close();
})().catch(e => { console.error(e); process.exit(1); });
