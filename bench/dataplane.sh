#!/usr/bin/env bash
# Data-plane throughput (root: network namespaces), each with its baseline in the same run:
# the MAP-E path (CE + BR) per backend against kernel routing (iperf3), the bpf BR alone
# against kernel routing (trafgen) with its memory, and loading the BPF programs.
# Options (e.g. --seconds 10) go to the first two.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-deps.sh
command -v iperf3 >/dev/null || apt-get install -y -qq iperf3 >/dev/null
command -v trafgen >/dev/null || apt-get install -y -qq netsniff-ng >/dev/null
.venv/bin/python bench/bench_dataplane.py "$@"
echo
.venv/bin/python bench/bench_br.py "$@"
echo
.venv/bin/python bench/bench_bpf_load.py
