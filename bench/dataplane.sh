#!/usr/bin/env bash
# Data-plane throughput (root: network namespaces): userspace MAP-E path vs kernel routing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-deps.sh
command -v iperf3 >/dev/null || apt-get install -y -qq iperf3 >/dev/null
.venv/bin/python bench/bench_dataplane.py "$@"
