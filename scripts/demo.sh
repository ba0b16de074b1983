#!/usr/bin/env bash
# Set up and run the main job: for now, `mape calc` on the built-in operator tables.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mape=.venv/bin/mape

echo "\$ mape calc 240b:10:3f6c:d400::/56        # a v6plus delegated prefix"
"$mape" calc 240b:10:3f6c:d400::/56
echo
echo "\$ mape calc 2400:4151:8000:1200::/56      # an OCN Virtual Connect prefix"
"$mape" calc 2400:4151:8000:1200::/56
echo
echo "\$ mape calc --reverse 106.72.63.108:7490  # which CE owns this address and port?"
"$mape" calc --reverse 106.72.63.108:7490
