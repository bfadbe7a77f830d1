#!/usr/bin/env python3
"""Edit → output latency of `publish watch` (issue 13), on the 100k- and 1M-word corpora of
bench.py.

For each corpus and format alone, `publish watch --format F` runs on a fresh copy of the corpus;
then EDITS times one paragraph of one part (a different part each time) is edited the way an
editor saves (temporary file + rename) and the time from the rename to the rebuild line on
stderr (outputs are in place before that line is printed) is taken: p50 and p95; so is the
rebuild's own time printed in that line (from the debounced file event to the outputs in
place), which excludes the 50 ms the debouncer waits for the end of the save burst. The cold
build of the same format is timed with `publish --format F`. Memory: the watch process's RSS
after the first edit's rebuild and after CYCLES edit/rebuild cycles. Appends its table to
bench/RESULTS.md under "Watch: edit → output latency" (replacing an earlier one).

Usage: bench/watch.py [--edits N] [--cycles N] [--formats html,epub,pdf] [--corpora 100k,1M]
                     [--publish PATH]
"""
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

SECTION = "## Watch: edit → output latency (issue 13)"


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def editor_save(path, text):
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(tmp, path)


def run_format(publish, fmt, edits, cycles, parts):
    book = tempfile.mkdtemp(prefix="publish-watch-")
    bench.make_corpus(book, parts, 5000, markdown=False)
    t = time.perf_counter()
    subprocess.run([publish, "--format", fmt, "--quiet"], cwd=book, env=bench.ENV, check=True)
    cold = time.perf_counter() - t
    proc = subprocess.Popen([publish, "watch", "--format", fmt], cwd=book, env=bench.ENV,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put((time.perf_counter(), l)) for l in proc.stderr],
                     daemon=True).start()

    def next_summary():
        while True:
            at, line = lines.get(timeout=600)
            if " s — " in line:
                assert " 0 errors" in line, line
                builds.append(float(re.search(r" in ([0-9.]+) s — ", line)[1]))
                return at

    builds = []

    next_summary()
    src = os.path.join(book, "sources")
    names = sorted(os.listdir(src))
    latencies, rebuilds, mem_first = [], [], None
    for i in range(max(edits, cycles)):
        path = os.path.join(src, names[i % len(names)])
        text = open(path, encoding="utf-8").read()
        # Edit one paragraph: the last one gets one more word.
        text = re.sub(r"\n$", f" تعديل{i}\n", text, count=1)
        t0 = time.perf_counter()
        editor_save(path, text)
        at = next_summary()
        if i < edits:
            latencies.append(at - t0)
            rebuilds.append(builds[-1])
        if i == 0:
            mem_first = rss_mib(proc.pid)
    mem_last = rss_mib(proc.pid)
    proc.send_signal(2)
    proc.wait(timeout=120)
    shutil.rmtree(book, ignore_errors=True)
    def p95(xs):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]

    return dict(fmt=fmt, cold=cold, p50=statistics.median(latencies), p95=p95(latencies),
                b50=statistics.median(rebuilds), b95=p95(rebuilds),
                mem_first=mem_first, mem_last=mem_last, cycles=max(edits, cycles),
                exit=proc.returncode)


def main():
    publish = arg("--publish", bench.PUBLISH)
    edits = int(arg("--edits", "20"))
    cycles = int(arg("--cycles", "100"))
    formats = arg("--formats", "html,epub,pdf").split(",")
    corpora = arg("--corpora", "100k,1M").split(",")
    parts = {"100k": 20, "1M": 200}
    out = [SECTION, "",
           f"Raw-text corpora of bench.py (20 parts ≈ 100,000 words; 200 parts ≈ 1,000,000 words); "
           f"{edits} edits, one paragraph of a different part each, saved as editors do (temporary "
           "file + rename). **save → output**: from the rename to the rebuild line on stderr "
           "(outputs already in place), including the 50 ms the debouncer waits for the end of "
           "the save burst. **event → output**: the rebuild's own time from that line, from the "
           "debounced file event to the outputs in place. Memory: RSS of the watch process after "
           f"the first rebuild and after N edit/rebuild cycles. Machine: {os.cpu_count()} cores.", "",
           "| corpus | format | cold build (s) | event → output p50 (ms) | p95 (ms) | save → output p50 (ms) | p95 (ms) | p50 ÷ cold | RSS after 1st rebuild (MiB) | RSS after N cycles (MiB) | N | ratio |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for corpus in corpora:
        for f in formats:
            # The memory target is for 100 cycles on the 100k corpus; the 1M corpus (and the
            # PDF, whose rebuilds take seconds) runs the edits only.
            n = cycles if f != "pdf" and corpus == "100k" else edits
            r = run_format(publish, f, edits, n, parts[corpus])
            print(corpus, r, file=sys.stderr)
            out.append(f"| {corpus} | {r['fmt']} | {r['cold']:.3f} | {r['b50'] * 1000:.0f} | {r['b95'] * 1000:.0f} | "
                       f"{r['p50'] * 1000:.0f} | {r['p95'] * 1000:.0f} | "
                       f"{r['b50'] / r['cold']:.0%} | {r['mem_first']:.0f} | {r['mem_last']:.0f} | {r['cycles']} | "
                       f"{r['mem_last'] / r['mem_first']:.2f}× |")
    table = "\n".join(out) + "\n"
    print(table)
    bench.replace_section(SECTION, table)


if __name__ == "__main__":
    main()
