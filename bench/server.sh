#!/usr/bin/env bash
# The rule-server load benchmark (SQLite and PostgreSQL): installs wrk, starts a private
# PostgreSQL (as root), prints the figures. Arguments go to bench/bench_server.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
    else
        echo "wrk is needed (apt-get install wrk)" >&2; exit 1
    fi
fi
. scripts/pg.sh
.venv/bin/python bench/bench_server.py "$@"
