#!/usr/bin/env bash
# The benchmark of `publish` against pandoc: see bench/bench.py. Usage:
#   bench/run.sh            # all corpora (1 part, 20 parts ≈ 100k words, 200 parts ≈ 1M words)
#   bench/run.sh --quick    # 1 and 20 parts only
# Installs pandoc (PyPI pypandoc_binary) and typst-py (PyPI typst, used as pandoc's typst PDF
# engine through bench/typst-shim) when missing; without them it times publish alone.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
python3 -c 'import pypandoc' 2>/dev/null || python3 -m pip install -q pypandoc_binary || echo "pandoc not available: timing publish alone"
python3 -c 'import typst' 2>/dev/null || python3 -m pip install -q 'typst==0.15.*' || echo "typst-py not available: no pandoc PDF"
exec python3 bench/bench.py "$@"
