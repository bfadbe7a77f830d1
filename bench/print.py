#!/usr/bin/env python3
"""Benchmark of the print edition's volumes (issue 14): the 1M-word corpus (200 parts of
~5,000 words, as in bench.py) built with `[print]` as one print interior, and with
`[print] max-pages = 600` as volumes typeset in parallel (one typst compile per volume).

Each is built twice: with `--format pdf`, which also builds the reading PDF (`<slug>.pdf`)
beside the print files as a real build does, and with `--format print`, the print edition
alone. Reports the wall time of each run, the print phase of the `--format pdf` runs (from
`--timings`), the CPU time, the volumes and their page counts; writes its section into
bench/RESULTS.md (replacing an earlier one). Usage: python3 bench/print.py
"""
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

HEAD = "## Print edition: volumes in parallel (issue 14)"


def run(book, toml, fmt="pdf"):
    with open(os.path.join(book, "publish.toml"), "w", encoding="utf-8") as f:
        f.write(toml)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    p = subprocess.run(
        [bench.PUBLISH, "--format", fmt, "--timings", "--book", book],
        env=bench.ENV, capture_output=True, text=True,
    )
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        sys.exit(f"publish failed:\n{p.stderr}")
    timings = {m[0]: float(m[1]) for m in re.findall(r"timing: (.*): ([0-9.]+) s", p.stderr)}
    notes = [l for l in p.stderr.splitlines() if l.startswith("print:")]
    return wall, cpu, timings, notes


def main():
    with tempfile.TemporaryDirectory() as book:
        words = bench.make_corpus(book, 200, 5000, True)
        one_wall, one_cpu, one_t, one_notes = run(book, "[print]\n")
        print_one = sum(v for k, v in one_t.items() if k.startswith("pdf: print:"))
        vol_wall, vol_cpu, vol_t, vol_notes = run(book, "[print]\nmax-pages = 600\n")
        print_vol = vol_t.get("pdf: print: volumes", 0.0)
        # The print edition alone (`--format print`): no reading PDF takes a core.
        alone_one, alone_one_cpu, _, _ = run(book, "[print]\n", "print")
        alone_vol, alone_vol_cpu, _, _ = run(book, "[print]\nmax-pages = 600\n", "print")
    section = [
        HEAD,
        "",
        f"Corpus: 200 Markdown parts, {words:,} words; `[print]` (A5, 80 gsm), on this machine",
        f"({os.cpu_count()} cores). `--format pdf` also builds the reading PDF; `--format print` builds",
        "the print edition alone.",
        "",
        "| build | wall (s) | print phase (s) | CPU, user + sys (s) |",
        "|---|---|---|---|",
        f"| one print interior (one typst compile) | {one_wall:.1f} | {print_one:.1f} | {one_cpu:.1f} |",
        f"| `max-pages = 600`: volumes in parallel | {vol_wall:.1f} | {print_vol:.1f} | {vol_cpu:.1f} |",
        f"| `--format print`, one interior | {alone_one:.1f} | {alone_one:.1f} | {alone_one_cpu:.1f} |",
        f"| `--format print`, `max-pages = 600` volumes | {alone_vol:.1f} | {alone_vol:.1f} | {alone_vol_cpu:.1f} |",
        "",
        f"Speed-up of volumes with the reading PDF beside them (`--format pdf`): print phase "
        f"{print_one / print_vol:.2f}×, whole run {one_wall / vol_wall:.2f}×. The print edition "
        f"alone (`--format print`): {alone_one / alone_vol:.2f}×.",
        "",
        "Log of the runs:",
        "",
        "```",
        *one_notes,
        *vol_notes,
        "```",
        "",
    ]
    bench.replace_section(HEAD, "\n".join(section))
    print("\n".join(section))


if __name__ == "__main__":
    main()
