#!/usr/bin/env bash
# Lab benchmark (root: network namespaces): convergence and port-set capacity.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-deps.sh
.venv/bin/python bench/bench_lab.py "$@"
