#!/usr/bin/env bash
# Scaling of issue 17's pathologies: each input at n and 10n, wall time and peak memory
# (`/usr/bin/time -v`), and the growth factors (target: at most 12x for 10x the input).
# Usage: bench/pathology.sh [n] [formats]   (default n=10000, formats=html)
# Prints a Markdown table; paste it into bench/RESULTS.md.
set -euo pipefail
N=${1:-10000}
FORMATS=${2:-html}
BIN=${PUBLISH_BIN:-target/release/publish}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

gen() { # gen CASE N DIR: write sources/ of one pathology of size N
  python3 - "$1" "$2" "$3" <<'PY'
import os, sys
case, n, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(d + "/sources", exist_ok=True)
fm = '+++\ntitle = "عنوان"\npart = 1\n+++\n\n'
def md(body, name="a.md", front=fm):
    open(f"{d}/sources/{name}", "w").write(front + body)
if case == "long-line":        md("كلمة " * n + "\n")
elif case == "refs-one-note":  md("نص" + "[^a] " * n + "\n\n[^a]: حاشية\n")
elif case == "note-defs":      md("نص\n\n" + "".join(f"[^{i}]: حاشية\n\n" for i in range(n)))
elif case == "link-defs":      md("نص [x]\n\n" + "".join(f"[l{i}]: http://example.org/{i}\n" for i in range(n)))
elif case == "autolinks":      md("".join(f"<http://example.org/{i}> " for i in range(n)) + "\n")
elif case == "nested-links":   md("[ " * n + "نص" + "](http://example.org) " * n + "\n")
elif case == "yaml-title":     md("نص\n", front="---\npart: 1\ntitle: " + "ع" * n + "\n---\n\n")
elif case == "yaml-flow":      md("نص\n", front="---\npart: 1\ntags: " + "[" * n + "]" * n + "\n---\n\n")
elif case == "parts":
    for i in range(1, n + 1):
        md("نص\n", name=f"part-{i}.md", front=f'+++\ntitle = "عنوان {i}"\npart = {i}\nauthor = "كاتب {i}"\n+++\n\n')
elif case == "notes-both":     md("".join(f"نص[^{i}]\n\n[^{i}]: حاشية\n\n" for i in range(n)))
elif case == "headings":       md("".join(f"## عنوان {i}\n\nنص\n\n" for i in range(n)))
elif case == "quotes":         md(">" * n + " نص\n")
elif case == "note-chain":     md("نص[^0]\n\n" + "".join(f"[^{i}]: حاشية[^{i+1}]\n\n" for i in range(n)))
PY
}

measure() { # measure DIR → "seconds peak_kb"
  /usr/bin/time -v "$BIN" build --quiet --format "$FORMATS" --book "$1" 2> "$1.time" >/dev/null || true
  local s kb
  s=$(grep "Elapsed (wall clock)" "$1.time" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  kb=$(grep "Maximum resident set size" "$1.time" | awk '{print $NF}')
  echo "$s $kb"
}

CASES=${CASES:-"long-line refs-one-note note-defs link-defs autolinks nested-links yaml-title yaml-flow parts notes-both headings quotes note-chain"}
echo "| pathology | n | time n (s) | time 10n (s) | × | peak n (MB) | peak 10n (MB) | × |"
echo "|---|---|---|---|---|---|---|---|"
for c in $CASES; do
  n=$N
  # Part counts and nesting are heavier per unit than lines of text.
  case $c in parts) n=$((N / 10));; esac
  gen "$c" "$n" "$WORK/$c-1"; gen "$c" $((n * 10)) "$WORK/$c-10"
  read -r t1 m1 < <(measure "$WORK/$c-1")
  read -r t10 m10 < <(measure "$WORK/$c-10")
  awk -v c="$c" -v n="$n" -v t1="$t1" -v t10="$t10" -v m1="$m1" -v m10="$m10" 'BEGIN {
    tt = (t1 > 0.05 ? t10 / t1 : t10 / 0.05); printf "| %s | %d | %.2f | %.2f | %.1f | %.0f | %.0f | %.1f |\n", c, n, t1, t10, tt, m1/1024, m10/1024, m10/m1 }'
done
