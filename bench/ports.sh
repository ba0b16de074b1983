#!/usr/bin/env bash
# Port benchmark (root: network namespaces): caps, timeouts, the cost of the live view.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-deps.sh
.venv/bin/python bench/bench_ports.py "$@"
