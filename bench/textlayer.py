#!/usr/bin/env python3
"""Benchmark of the archival PDF's text layer (issue 11): the 100k-word corpus (20 parts of
~5,000 words, as in bench.py) built as a PDF with `[pdf] text-layer = "logical"` (the default)
and `"native"` (typst's own text), each `--runs` times (default 5), alternating so that a busy
machine slows both alike. Reports the median PDF phase (from `--timings`) and wall time, the
file sizes, and the ratios against the issue's targets (size ≤ 1.6×, time ≤ 1.3×); with
`measure.py` found (tests/common: $PUBLISH_TEXTLAYER, $PUBLISH_TOOLS/textlayer or
../shared/tools/textlayer), also the extraction table of the seed part and the vowelled corpus.
Writes its section into bench/RESULTS.md (replacing an earlier one).
Usage: python3 bench/textlayer.py [--runs N]
"""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

HEAD = "## The PDF text layer: size, time and extraction (issue 11)"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = bench.SEED
VOWELLED = os.path.join(ROOT, "tests", "fixtures", "vowelled")
EXTRACTORS = ["pdftotext", "pdfium", "pdfjs", "mutool", "pdfminer", "pymupdf"]


def build(book, layer):
    with open(os.path.join(book, "publish.toml"), "w", encoding="utf-8") as f:
        f.write(f'[pdf]\ntext-layer = "{layer}"\n')
    t = time.monotonic()
    p = subprocess.run(
        [bench.PUBLISH, "--format", "pdf", "--timings", "--book", book],
        env=bench.ENV, capture_output=True, text=True,
    )
    wall = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"publish failed:\n{p.stderr}")
    timings = {m[0]: float(m[1]) for m in re.findall(r"timing: (.*): ([0-9.]+) s", p.stderr)}
    pdf = os.path.join(book, "output", "book.pdf")
    return timings["pdf"], wall, os.path.getsize(pdf), timings


def measure_py():
    for d in [os.environ.get("PUBLISH_TEXTLAYER"),
              os.path.join(os.environ.get("PUBLISH_TOOLS", "/opt/publish-tools"), "textlayer"),
              os.path.join(ROOT, "..", "shared", "tools", "textlayer")]:
        if d and os.path.isfile(os.path.join(d, "measure.py")) \
                and os.path.isdir(os.path.join(d, "node_modules", "pdfjs-dist")):
            return os.path.join(d, "measure.py")
    return None


def extraction(script, sources, layer):
    """measure.py's figures for a book of `sources`, built with `layer`."""
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "sources"))
        for s in sources:
            with open(s, "rb") as f, open(os.path.join(tmp, "sources", os.path.basename(s)), "wb") as g:
                g.write(f.read())
        build(tmp, layer)
        out = subprocess.run(
            ["python3", script, os.path.join(tmp, "output", "book.pdf"), *sources, "--json"],
            capture_output=True, text=True, check=True,
        ).stdout
        return json.loads(out)


def main():
    runs = 5
    if "--runs" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1])
    with tempfile.TemporaryDirectory() as tmp:
        book = os.path.join(tmp, "book")
        words = bench.make_corpus(book, 20, 5000, False)
        rows = {"logical": [], "native": []}
        for _ in range(runs):
            for layer in ("native", "logical"):
                rows[layer].append(build(book, layer))
    med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v), v[-1][2])
           for k, v in rows.items()}
    phases = rows["logical"][-1][3]
    size_ratio = med["logical"][2] / med["native"][2]
    time_ratio = med["logical"][0] / med["native"][0]
    lines = [
        HEAD, "",
        f"{bench.machine()}; {words:,} words, {runs} runs each (medians), "
        f"{time.strftime('%Y-%m-%d')}. `python3 bench/textlayer.py`.", "",
        "| text layer | PDF phase (s) | wall (s) | file (bytes) |",
        "|---|---|---|---|",
    ]
    for k in ("native", "logical"):
        lines.append(f"| {k} | {med[k][0]:.2f} | {med[k][1]:.2f} | {med[k][2]:,} |")
    lines += [
        "",
        f"- size: {size_ratio:.2f}× native (target ≤ 1.6×: {'met' if size_ratio <= 1.6 else 'NOT met'})",
        f"- time: {time_ratio:.2f}× native (target ≤ 1.3×: {'met' if time_ratio <= 1.3 else 'NOT met'})",
        "- phases of the last logical run: " + ", ".join(
            f"{k.removeprefix('pdf: ')} {v:.2f} s" for k, v in phases.items() if k.startswith("pdf: ")),
    ]
    script = measure_py()
    if script is None:
        print("measure.py not found (scripts/install-test-tools): no extraction table", file=sys.stderr)
    else:
        vowelled = sorted(os.path.join(VOWELLED, f) for f in os.listdir(VOWELLED) if f.endswith(".txt"))
        table = {}
        for name, sources in (("seed part", [SEED]), ("vowelled corpus", vowelled)):
            for layer in ("logical", "native"):
                table[(name, layer)] = extraction(script, sources, layer)
        lines += ["", "letters / exact / words (`measure.py`; native in brackets):", "",
                  "| extractor | seed part | vowelled corpus |", "|---|---|---|"]
        for ex in EXTRACTORS:
            cells = []
            for name in ("seed part", "vowelled corpus"):
                lo, na = table[(name, "logical")].get(ex), table[(name, "native")].get(ex)
                if lo is None:
                    cells.append("—")
                    continue
                f = lambda r: " / ".join(f"{r[k][0]:.3f}" for k in ("letters", "exact", "words"))
                cells.append(f"{f(lo)} ({f(na) if na else '—'})")
            lines.append(f"| {ex} | {cells[0]} | {cells[1]} |")
    section = "\n".join(lines) + "\n"
    print(section)
    bench.replace_section(HEAD, section)


if __name__ == "__main__":
    main()
