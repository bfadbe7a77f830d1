#!/usr/bin/env python3
"""Benchmark `publish` against pandoc on corpora generated from the seed's paragraphs.

Corpora: 1 part (~500 words), 20 parts (~100,000 words), 200 parts (~1,000,000 words), each
as raw text parts and as Markdown parts. Paragraphs are rotated and numbered so that no two
are identical. For each corpus: `publish` per format and `--format all` (wall time, CPU time,
peak memory; median of several runs), pandoc producing EPUB, standalone HTML and PDF (typst
engine) from the Markdown corpus, and the ratios; then each target of the project (issue 7)
with the measured figure and whether it is met: `publish`'s overhead around typst is taken
from `--timings` of each format run alone, and growth compares the 1M and 100k corpora.
Writes bench/RESULTS.md.
"""
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLISH = os.path.join(ROOT, "target", "release", "publish")
SEED = os.path.join(ROOT, "sources", "000_45698de3c11125b4.txt")
FONTS = os.path.join(ROOT, "themes", "default", "fonts")
SERIES = "وهم الخلافة؛ من حلم السلطة إلى حضيض الانهيار!"
AUTHOR = "عزيز جلال"
ENV = dict(os.environ, SOURCE_DATE_EPOCH="1790000000")
ENV.pop("CI", None)


def replace_section(head, section):
    """Put `section` (text starting with the `## ` line `head`) into bench/RESULTS.md in place of
    an earlier section with that heading (up to the next `## ` heading; the rest stays), or at
    the end when there is none."""
    path = os.path.join(ROOT, "bench", "RESULTS.md")
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    new = section.rstrip("\n") + "\n"
    if head in text:
        start = text.index(head)
        end = text.find("\n## ", start + len(head))
        rest = text[end + 1:] if end != -1 else ""
        text = text[:start] + new + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + new
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def seed_paragraphs():
    lines = [l.strip() for l in open(SEED, encoding="utf-8").read().split("\n")]
    paras = [l for l in lines[5:] if len(l.split()) > 12]
    assert paras, "seed has no paragraphs"
    return paras


def make_corpus(folder, parts, words_per_part, markdown):
    """Write `parts` parts of about `words_per_part` words into folder/sources."""
    paras = seed_paragraphs()
    src = os.path.join(folder, "sources")
    os.makedirs(src, exist_ok=True)
    k = 0
    total = 0
    for n in range(1, parts + 1):
        body, words = [], 0
        while words < words_per_part:
            p = paras[k % len(paras)]
            # Rotate the words and number the paragraph so no two paragraphs are identical.
            ws = p.split()
            r = k % len(ws)
            text = f"({k + 1}) " + " ".join(ws[r:] + ws[:r])
            body.append(text)
            words += len(text.split())
            k += 1
        total += words
        title = f"الفصل رقم {n}"
        # File names in reverse order: publish orders by part number, never by name.
        name = f"{parts - n:04d}"
        if markdown:
            with open(os.path.join(src, name + ".md"), "w", encoding="utf-8") as f:
                f.write(f'+++\ntitle = "{title}"\npart = {n}\nauthor = "{AUTHOR}"\nseries = "{SERIES}"\n+++\n\n')
                f.write("\n\n".join(body) + "\n")
        else:
            with open(os.path.join(src, name + ".txt"), "w", encoding="utf-8") as f:
                f.write(f"{SERIES} الجزء {n}\n\n{AUTHOR}\n\n{title}\n\n")
                f.write("\n\n".join(body) + "\n")
    return total


def measure(cmd, cwd, runs, phases=None):
    """Median wall time, median CPU time (user + system), max peak RSS (MiB) and the spread of
    the wall times ((max - min) / median) of `runs` runs.

    `os.wait4` gives the resource usage of exactly that child, so each run is measured alone.
    With a dict `phases`, the command also gets `--timings` and the median of each phase it
    prints (in seconds) is stored there.
    """
    walls, cpus, peaks = [], [], []
    seen = {}
    if phases is not None:
        cmd = cmd + ["--timings"]
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            sys.stderr.write(err.decode(errors="replace")[-2000:])
            raise SystemExit(f"failed: {' '.join(cmd)}")
        walls.append(wall)
        cpus.append(usage.ru_utime + usage.ru_stime)
        peaks.append(usage.ru_maxrss / 1024)
        for line in err.decode(errors="replace").splitlines():
            m = re.match(r"timing: (.*): ([0-9.]+) s$", line)
            if m:
                seen.setdefault(m.group(1), []).append(float(m.group(2)))
    if phases is not None:
        phases.update({k: statistics.median(v) for k, v in seen.items()})
    spread = (max(walls) - min(walls)) / statistics.median(walls)
    return statistics.median(walls), statistics.median(cpus), max(peaks), spread


def pandoc_bin():
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except Exception:
        return shutil.which("pandoc")


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM"


def main():
    quick = "--quick" in sys.argv
    corpora = [("1 part", 1, 500, 5), ("20 parts", 20, 5000, 5)]
    if not quick:
        corpora.append(("200 parts", 200, 5000, 3))
    pandoc = pandoc_bin()
    shim_dir = tempfile.mkdtemp()
    have_typst_py = subprocess.run([sys.executable, "-c", "import typst"], capture_output=True).returncode == 0
    if have_typst_py:
        os.symlink(os.path.join(ROOT, "bench", "typst-shim"), os.path.join(shim_dir, "typst"))
    ENV["PATH"] = shim_dir + os.pathsep + ENV["PATH"]
    ENV["TYPST_FONT_PATHS"] = FONTS
    rows = []
    for label, parts, wpp, runs in corpora:
        for markdown in (False, True):
            kind = "Markdown" if markdown else "raw text"
            with tempfile.TemporaryDirectory() as book:
                words = make_corpus(book, parts, wpp, markdown)
                results = {}
                phases = {}
                for fmt in ("pdf", "epub", "html", "all"):
                    results[fmt] = measure([PUBLISH, "--quiet", "--format", fmt], book, runs, phases.setdefault(fmt, {}))
                    print(f"{label} {kind} publish {fmt}: {results[fmt][0]:.3f} s", flush=True)
                timings = subprocess.run(
                    [PUBLISH, "--quiet", "--timings", "--format", "all"], cwd=book, env=ENV, capture_output=True, text=True
                ).stderr
                pan = {}
                if markdown and pandoc:
                    files = sorted(
                        (os.path.join(book, "sources", f) for f in os.listdir(os.path.join(book, "sources"))),
                        reverse=True,
                    )
                    base = [pandoc, "-f", "markdown", "--metadata", f"title={SERIES}", "--metadata", "lang=ar", "--metadata", "dir=rtl"] + files
                    pan["epub"] = measure(base + ["-o", "p.epub"], book, runs)
                    pan["html"] = measure(base + ["-s", "--embed-resources", "-o", "p.html"], book, runs)
                    if have_typst_py:
                        pan["pdf"] = measure(base + ["--pdf-engine=typst", "-V", "mainfont=Amiri", "-o", "p.pdf"], book, max(1, runs // 2))
                    for k, v in pan.items():
                        print(f"{label} {kind} pandoc {k}: {v[0]:.3f} s", flush=True)
                rows.append((label, kind, words, results, pan, timings, phases))
    write_results(rows, pandoc, have_typst_py)


def overhead(phases):
    """`publish`'s own work around typst, in seconds, each phase from a run of its format alone
    (so no phase is slowed by typst running beside it): reading and assembling, the PDF's
    checks and JSON data, the whole EPUB writer (its cover included) and the whole HTML writer;
    and typst's typesetting time it is compared with."""
    own = (
        phases["pdf"]["read and assemble"]
        + phases["pdf"]["pdf: check and prepare data"]
        + phases["epub"]["epub"]
        + phases["html"]["html"]
    )
    return own, phases["pdf"]["pdf: typeset (typst)"]


def targets(rows):
    """The targets of the benchmark, each with the measured figure and whether it is met."""
    by = {(label, kind): (words, res, pan, phases) for label, kind, words, res, pan, _, phases in rows}
    lines = ["", "## Targets", "", "| target | corpus | measured | met |", "|---|---|---|---|"]

    def row(target, corpus, measured, ok):
        lines.append(f"| {target} | {corpus} | {measured} | {'yes' if ok else '**no**'} |")

    for kind in ("raw text", "Markdown"):
        if ("20 parts", kind) in by:
            words, res, pan, phases = by[("20 parts", kind)]
            w = res["all"][0]
            row("`--format all` ≤ 2 s", f"100k, {kind}", f"{w:.2f} s", w <= 2)
            if "pdf" in pan:
                row("`--format all` ≤ ½ pandoc PDF", f"100k, {kind}", f"{w:.2f} s vs {pan['pdf'][0]:.2f} s ({pan['pdf'][0] / w:.1f}×)", w <= pan["pdf"][0] / 2)
            for fmt in ("epub", "html"):
                if fmt in pan:
                    r = pan[fmt][0] / res[fmt][0]
                    row(f"{fmt.upper()} ≥ 20× pandoc", f"100k, {kind}", f"{r:.1f}×", r >= 20)
            own, typeset = overhead(phases)
            row("overhead around typst ≤ 10% of typesetting", f"100k, {kind}", f"{own:.3f} s / {typeset:.3f} s = {own / typeset * 100:.1f}%", own <= typeset / 10)
        if ("1 part", kind) in by:
            w = by[("1 part", kind)][1]["all"][0]
            row("1 part, `--format all` ≤ 0.15 s", f"1 part, {kind}", f"{w:.3f} s", w <= 0.15)
        if ("200 parts", kind) in by and ("20 parts", kind) in by:
            w1, r1, _, _ = by[("20 parts", kind)]
            w2, r2, _, _ = by[("200 parts", kind)]
            m = r2["all"][2]
            row("1M words: peak memory ≤ 4 GiB", f"1M, {kind}", f"{m:.0f} MiB", m <= 4096)
            growth, scale = r2["all"][0] / r1["all"][0], w2 / w1
            # Below the run-to-run spread of the same command, a ratio cannot tell linear from not.
            noise = r1["all"][3]
            measured = f"{growth:.2f}× the time for {scale:.2f}× the words"
            if growth <= scale:
                row("time grows no worse than linearly (100k → 1M)", f"{kind}, `--format all`", measured, True)
            elif growth <= scale * (1 + noise):
                lines.append(f"| time grows no worse than linearly (100k → 1M) | {kind}, `--format all` | {measured} | within the run-to-run spread of ±{noise * 100:.1f}% |")
            else:
                row("time grows no worse than linearly (100k → 1M)", f"{kind}, `--format all`", measured, False)
    return lines


def write_results(rows, pandoc, have_typst_py):
    version = subprocess.run([PUBLISH, "--version"], capture_output=True, text=True).stdout.strip()
    pv = subprocess.run([pandoc, "--version"], capture_output=True, text=True).stdout.split("\n")[0] if pandoc else "not installed"
    out = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}. {version}; {pv}; pandoc PDF engine: {'typst-py 0.15 (bench/typst-shim)' if have_typst_py else 'none'}.",
        f"Generated by `bench/run.sh` on {time.strftime('%Y-%m-%d')}. Wall and CPU time are medians; memory is peak RSS.",
        "",
        "| corpus | sources | words | format | publish wall (s) | CPU (s) | peak MiB | pandoc wall (s) | pandoc ÷ publish |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for label, kind, words, res, pan, _, _ in rows:
        for fmt in ("pdf", "epub", "html", "all"):
            w, c, m, _ = res[fmt]
            pw = pan.get(fmt)
            ratio = f"{pw[0] / w:.1f}×" if pw else "—"
            out.append(
                f"| {label} | {kind} | {words:,} | {fmt} | {w:.3f} | {c:.3f} | {m:.0f} | {f'{pw[0]:.3f}' if pw else '—'} | {ratio} |"
            )
    out += targets(rows)
    out += ["", "## Where the time goes (`publish --timings --format all`)", ""]
    for label, kind, words, _, _, timings, _ in rows:
        out.append(f"- {label}, {kind}: " + "; ".join(l.replace("timing: ", "") for l in timings.splitlines() if l.startswith("timing:")))
    path = os.path.join(ROOT, "bench", "RESULTS.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
