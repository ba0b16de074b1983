#!/usr/bin/env bash
# Run every benchmark and print its figures (set up .venv first if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python bench/bench_core.py "$@"
