#!/usr/bin/env python3
"""Benchmark of images and tables (issue 15): a ~100k-word Markdown corpus (20 parts) with 100
figures and 100 tables, built per format and with `--format all`; median wall time, CPU time
and peak memory of 3 runs. Images are generated here (PNG by a tiny encoder, SVG as text):
80 distinct PNG photos of 1600×1000 pixels (each used once; 10 of them twice, so the
de-duplication is on the path) and 10 SVG drawings. Appends its own section to
bench/RESULTS.md (replacing an earlier one).

Usage: cargo build --release && python3 bench/media.py
"""
import os
import struct
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the corpus text and the measuring of the main benchmark)

ROOT = bench.ROOT
PARTS = 20
WORDS = 5000
TABLES_PER_PART = 5
FIGURES_PER_PART = 5


def png(w, h, seed):
    """An RGB PNG with a gradient and stripes that depend on `seed` (compresses like a chart
    more than a photo: the encoder is the point of the benchmark, not zlib)."""
    base = bytearray(w * 3)
    for x in range(w):
        base[x * 3] = (x * 255 // w + seed * 37) & 255
        base[x * 3 + 1] = (((x // 40 + seed) % 7) * 36) & 255
        base[x * 3 + 2] = (seed * 91 + x) & 255
    rows = bytearray()
    for y in range(h):
        # Each row is the base row shifted: fast to make, and no two rows alike.
        k = (y * 3 * (1 + seed % 3)) % len(base)
        rows.append(0)
        rows += base[k:] + base[:k]
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b"")


def svg(seed):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200" viewBox="0 0 400 200">'
            f'<rect width="400" height="200" fill="#{seed * 40 % 256:02x}3b2d"/>'
            + "".join(f'<circle cx="{20 + i * 40}" cy="{100 + (i * seed) % 60}" r="15" fill="#c9a94a"/>' for i in range(9))
            + "</svg>")


def table(n):
    head = "| المدينة | السكان | المساحة | **ملاحظة** |\n|:---|---:|---:|:---:|\n"
    rows = "".join(f"| مدينة {n}-{r} | {1000 * n + 37 * r:,} | {r * 13.5:.1f} | *صف {r}* |\n" for r in range(12))
    return head + rows + f"\nجدول: جدول رقم {n}\n"


def make(folder):
    words = bench.make_corpus(folder, PARTS, WORDS, markdown=True)
    images = os.path.join(folder, "sources", "images")
    os.makedirs(images, exist_ok=True)
    for i in range(80):
        with open(os.path.join(images, f"p{i:03d}.png"), "wb") as f:
            f.write(png(1600, 1000, i))
    for i in range(10):
        with open(os.path.join(images, f"d{i:02d}.svg"), "w") as f:
            f.write(svg(i + 1))
    names = [f"p{i:03d}.png" for i in range(80)] + [f"d{i:02d}.svg" for i in range(10)] + [f"p{i:03d}.png" for i in range(10)]
    src = os.path.join(folder, "sources")
    k = 0
    for name in sorted(os.listdir(src)):
        if not name.endswith(".md"):
            continue
        path = os.path.join(src, name)
        text = open(path, encoding="utf-8").read()
        head, body = text.split("+++\n\n", 1)[0] + "+++\n\n", text.split("+++\n\n", 1)[1]
        paras = body.strip().split("\n\n")
        step = max(1, len(paras) // (FIGURES_PER_PART + TABLES_PER_PART + 1))
        out = []
        for i, p in enumerate(paras):
            out.append(p)
            if i % step == step - 1 and k < 200:
                if k % 2 == 0:
                    out.append(f"![شكل رقم {k // 2 + 1}](images/{names[k // 2]})")
                else:
                    out.append(table(k // 2 + 1))
                k += 1
        with open(path, "w", encoding="utf-8") as f:
            f.write(head + "\n\n".join(out) + "\n")
    return words, k


def main():
    with tempfile.TemporaryDirectory() as d:
        words, inserted = make(d)
        rows = []
        for fmt in ["pdf", "epub", "html", "all"]:
            wall, cpu, peak, spread = bench.measure([bench.PUBLISH, "--format", fmt, "--book", d], d, 3)
            rows.append((fmt, wall, cpu, peak, spread))
            print(f"{fmt}: {wall:.3f} s wall, {cpu:.3f} s CPU, {peak:.0f} MiB", flush=True)
        figures = (inserted + 1) // 2
        tables = inserted // 2
        sizes = {}
        out = os.path.join(d, "output")
        for name in ["book.pdf", "book.epub"]:
            sizes[name] = os.path.getsize(os.path.join(out, name))
        html_images = sum(os.path.getsize(os.path.join(out, "html", "images", f)) for f in os.listdir(os.path.join(out, "html", "images")))
    section = [
        "## Images and tables (issue 15, `bench/media.py`)",
        "",
        f"{PARTS} Markdown parts, {words:,} words, {figures} figures (90 distinct images: 80 PNG of",
        f"1600×1000 px, 10 SVG; 10 PNG used twice) and {tables} tables of 4 columns × 12 rows.",
        f"Machine: {bench.machine()}. Median of 3 runs; peak memory is the largest of the runs.",
        "",
        "| format | wall (s) | CPU (s) | peak memory (MiB) | spread |",
        "|---|---|---|---|---|",
    ]
    for fmt, wall, cpu, peak, spread in rows:
        section.append(f"| {fmt} | {wall:.3f} | {cpu:.3f} | {peak:.0f} | {spread * 100:.0f}% |")
    section += [
        "",
        f"Outputs: PDF {sizes['book.pdf'] / 2**20:.1f} MiB (originals embedded once each), EPUB "
        f"{sizes['book.epub'] / 2**20:.1f} MiB, site images {html_images / 2**20:.1f} MiB (PNG wider "
        "than 1400 px scaled down for the site).",
        "",
    ]
    path = os.path.join(ROOT, "bench", "RESULTS.md")
    text = open(path, encoding="utf-8").read()
    marker = "## Images and tables (issue 15"
    new = "\n".join(section).rstrip() + "\n"
    if marker in text:
        # Replace only this section: up to the next `## ` heading, the rest stays.
        start = text.index(marker)
        end = text.find("\n## ", start + len(marker))
        rest = text[end + 1 :] if end != -1 else ""
        text = text[:start] + new + ("\n" + rest if rest else "")
    else:
        text = text.rstrip() + "\n\n" + new
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print("\n".join(section))


if __name__ == "__main__":
    main()
