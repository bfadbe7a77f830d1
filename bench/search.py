#!/usr/bin/env python3
"""The search benchmark (issue 12): builds the HTML site of the 100k- and 1M-word corpora of
bench/bench.py and runs bench/search.js on each (median of three cold runs), then writes the
"Search" section of bench/RESULTS.md. Usage: python3 bench/search.py [--quick] (100k only)."""
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

QUERY = "الموصل"
TARGETS = {"100k": 150 * 1024, "1M": 400 * 1024}


def run(site):
    out = []
    for _ in range(3):
        line = subprocess.run(["node", os.path.join(bench.ROOT, "bench", "search.js"), site, QUERY],
                              check=True, capture_output=True, text=True).stdout
        out.append(json.loads(line))
    return out


def size(site, sub):
    total = 0
    for dirpath, _, files in os.walk(os.path.join(site, sub)):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    return total


def main():
    corpora = [("100k", 20)] if "--quick" in sys.argv else [("100k", 20), ("1M", 200)]
    rows = []
    for label, parts in corpora:
        with tempfile.TemporaryDirectory() as book:
            words = bench.make_corpus(book, parts, 5000, True)
            subprocess.run([bench.PUBLISH, "--format", "html", "--book", book], check=True,
                           env=bench.ENV, capture_output=True)
            site = os.path.join(book, "output", "html")
            runs = run(site)
            med = lambda k: statistics.median(r[k] for r in runs)
            rows.append((label, words, size(site, "search"), len(os.listdir(os.path.join(site, "search"))),
                         med("bytes_to_first_result"), med("first_result_ms"), med("loaded_ms"),
                         runs[0]["requests"], runs[0]["results"]))
            print(label, runs, file=sys.stderr)
    lines = ["## Search (issue 12)", "",
             f"`python3 bench/search.py`: the site of each corpus over local HTTP in headless Chromium, "
             f"slow-4G (1.6 Mbps, 150 ms RTT, CPU ×4, cache off), cold page; query «{QUERY}» typed once "
             "the page has loaded; medians of three runs. Bytes count every response but fonts, HTML "
             "and CSS (search.js, the index files).", "",
             "| corpus | words | index on disk | index files | bytes to first result | requests | first result (ms) | page load (ms) | results | target | met |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for label, words, disk, nfiles, b, ms, load, req, res in rows:
        target = TARGETS[label]
        ok = b <= target and (label != "1M" or ms <= 1500)
        tgt = f"≤ {target // 1024} KB" + (", ≤ 1.5 s" if label == "1M" else "")
        lines.append(f"| {label} | {words:,} | {disk / 1024:.0f} KB | {nfiles} | {b / 1024:.1f} KB | {req} | "
                     f"{ms:.0f} | {load:.0f} | {res:,} | {tgt} | {'yes' if ok else '**no**'} |")
    section = "\n".join(lines) + "\n"
    path = os.path.join(bench.ROOT, "bench", "RESULTS.md")
    text = open(path, encoding="utf-8").read()
    start = text.find("## Search (issue 12)")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    open(path, "w", encoding="utf-8").write(text)
    print(section)


if __name__ == "__main__":
    main()
