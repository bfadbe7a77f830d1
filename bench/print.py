#!/usr/bin/env python3
"""Benchmark of the print edition's volumes (issue 14): the 1M-word corpus (200 parts of
~5,000 words, as in bench.py) built with `[print]` as one print interior, and with
`[print] max-pages = 600` as volumes typeset in parallel (one typst compile per volume).

Both runs also build the reading PDF (`<slug>.pdf`) beside the print files, as a real build
does. Reports the wall time of the whole `--format pdf` run and of the print phase (from
`--timings`), the number of volumes and their page counts; appends its section to
bench/RESULTS.md (replacing an earlier one). Usage: python3 bench/print.py
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

ROOT = bench.ROOT
RESULTS = os.path.join(ROOT, "bench", "RESULTS.md")
HEAD = "## Print edition: volumes in parallel (issue 14)"


def run(book, toml):
    with open(os.path.join(book, "publish.toml"), "w", encoding="utf-8") as f:
        f.write(toml)
    t = time.monotonic()
    p = subprocess.run(
        [bench.PUBLISH, "--format", "pdf", "--timings", "--book", book],
        env=bench.ENV, capture_output=True, text=True,
    )
    wall = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"publish failed:\n{p.stderr}")
    timings = {m[0]: float(m[1]) for m in re.findall(r"timing: (.*): ([0-9.]+) s", p.stderr)}
    notes = [l for l in p.stderr.splitlines() if l.startswith("print:")]
    return wall, timings, notes


def main():
    with tempfile.TemporaryDirectory() as book:
        words = bench.make_corpus(book, 200, 5000, True)
        one_wall, one_t, one_notes = run(book, "[print]\n")
        print_one = sum(v for k, v in one_t.items() if k.startswith("pdf: print:"))
        vol_wall, vol_t, vol_notes = run(book, "[print]\nmax-pages = 600\n")
        print_vol = vol_t.get("pdf: print: volumes", 0.0)
    section = [
        HEAD,
        "",
        f"Corpus: 200 Markdown parts, {words:,} words; `publish --format pdf` with `[print]` (A5,",
        "80 gsm), on this machine (2 cores, shared). Each run also builds the reading PDF.",
        "",
        "| build | wall (s) | print phase (s) |",
        "|---|---|---|",
        f"| one print interior (one typst compile) | {one_wall:.1f} | {print_one:.1f} |",
        f"| `max-pages = 600`: volumes in parallel | {vol_wall:.1f} | {print_vol:.1f} |",
        "",
        f"Speed-up of the print phase: {print_one / print_vol:.2f}×; of the whole run: "
        f"{one_wall / vol_wall:.2f}×.",
        "",
        "Log of the runs:",
        "",
        "```",
        *one_notes,
        *vol_notes,
        "```",
        "",
    ]
    text = open(RESULTS, encoding="utf-8").read() if os.path.exists(RESULTS) else ""
    new = "\n".join(section).rstrip() + "\n"
    if HEAD in text:
        # Replace only this section: up to the next `## ` heading, the rest stays.
        start = text.index(HEAD)
        end = text.find("\n## ", start + len(HEAD))
        rest = text[end + 1 :] if end != -1 else ""
        text = text[:start] + new + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + new
    with open(RESULTS, "w", encoding="utf-8") as f:
        f.write(text)
    print("\n".join(section))


if __name__ == "__main__":
    main()
