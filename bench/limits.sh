#!/usr/bin/env bash
# Request limits of the ways to serve the rule server (uvicorn, mapekit's guarded h11,
# Hypercorn, nginx in front): installs nginx-light as root, prints the figures.
# Arguments go to bench/bench_limits.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -c 'import hypercorn' 2>/dev/null || .venv/bin/pip install -q hypercorn==0.18.0
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] && [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq nginx-light >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nginx-light; }
fi
.venv/bin/python bench/bench_limits.py "$@"
