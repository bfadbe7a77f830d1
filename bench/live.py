#!/usr/bin/env python3
"""Save → shown in the browser with `publish serve` (issue 13), on the 100k-word corpus of
bench.py: `publish serve --format html` on a fresh copy of the 20-part corpus, a part page open
in headless Chromium (puppeteer-core, as tests/serve.rs), then EDITS saves of that part, each
adding a paragraph; the time from each save to the new text on the page (the server's live
update in place, keeping the scroll position) is taken by tests/serve/live-reload.js: p50 and p95.
Writes its section into bench/RESULTS.md (replacing an earlier one).

Usage: bench/live.py [--edits N] [--publish PATH]
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

TOKEN = "علامةالصفحة"
SECTION = "## Live reload: save → shown in Chromium (issue 13)"


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def main():
    publish = arg("--publish", bench.PUBLISH)
    edits = int(arg("--edits", "20"))
    root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True).stdout.strip()
    puppeteer = os.path.join(root, "puppeteer-core")
    if not os.path.isdir(puppeteer):
        sys.exit("puppeteer-core is not installed (npm install -g puppeteer-core)")
    book = tempfile.mkdtemp(prefix="publish-live-")
    try:
        words = bench.make_corpus(book, 20, 5000, markdown=False)
        # Parts are ordered by their marker, not their file name: a word only this source
        # has tells which page is its own.
        src = os.path.join(book, "sources")
        source = os.path.join(src, sorted(os.listdir(src))[7])
        with open(source, "a", encoding="utf-8") as f:
            f.write(f"\n\n{TOKEN}\n")
        proc = subprocess.Popen([publish, "serve", "--format", "html", "--port", "0"], cwd=book,
                                env=bench.ENV, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        base = None
        for line in proc.stderr:
            if line.startswith("serving "):
                base = line.split()[1]
            if line.startswith("first build:"):
                break
        if base is None:
            sys.exit("publish serve did not start")
        # Keep reading the log so the server never blocks on a full pipe.
        import threading
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        src = os.path.join(book, "sources")
        html = os.path.join(book, "output", "html")
        page = next(n for n in sorted(os.listdir(html)) if n.startswith("part-") and
                    TOKEN in open(os.path.join(html, n), encoding="utf-8").read())
        out = subprocess.run(
            ["node", os.path.join(bench.ROOT, "tests", "serve", "live-reload.js"),
             f"{base}html/{page}", source, "فقرة جديدة من المحرر", str(edits)],
            env=dict(os.environ, PUPPETEER_CORE=puppeteer,
                     PUPPETEER_EXECUTABLE_PATH="/usr/bin/chromium"),
            capture_output=True, text=True, timeout=900)
        proc.send_signal(2)
        proc.wait(timeout=60)
        if out.returncode != 0 or "ok" not in out.stdout:
            sys.exit(f"live-reload.js failed:\n{out.stdout}\n{out.stderr}")
        shown = sorted(int(m) for m in re.findall(r"shown_ms (\d+)", out.stdout))
    finally:
        shutil.rmtree(book, ignore_errors=True)
    p95 = shown[min(len(shown) - 1, round(0.95 * (len(shown) - 1)))]
    table = "\n".join([
        SECTION, "",
        f"`python3 bench/live.py`: 20 raw-text parts, {words:,} words; `publish serve --format html`; "
        f"a part page open in headless Chromium at 360×360 px, scrolled to its middle; {edits} "
        "saves of that part, each adding a paragraph; time from the save to the new text on the "
        "page (file event, debounce, rebuild, server-sent event, the page fetching itself and "
        f"putting the new article in place, no reload; scroll position checked). Machine: {os.cpu_count()} cores.", "",
        "| edits | save → shown p50 (ms) | p95 (ms) | min (ms) | max (ms) | target |",
        "|---:|---:|---:|---:|---:|---|",
        f"| {len(shown)} | {statistics.median(shown):.0f} | {p95} | {shown[0]} | {shown[-1]} | ≤ 300 ms |",
        "",
    ])
    print(table)
    bench.replace_section(SECTION, table)


if __name__ == "__main__":
    main()
