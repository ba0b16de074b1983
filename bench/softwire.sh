#!/usr/bin/env bash
# DS-Lite and IPIP convergence in the lab (root: network namespaces), MAP-E as the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-deps.sh
.venv/bin/python bench/bench_softwire.py "$@"
