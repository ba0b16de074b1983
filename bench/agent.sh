#!/usr/bin/env bash
# Agent benchmark (root: network namespaces): time to repair, idle writes, RSS over time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-deps.sh
.venv/bin/python bench/bench_agent.py "$@"
