#!/usr/bin/env bash
# Set up and run the main job: `mape lab demo` replays, in network namespaces, the story of
# a router left waiting for its MAP-E rules (needs root). Without root it shows `mape calc`
# on the built-in operator tables instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mape=.venv/bin/mape

if [ "$(id -u)" = 0 ]; then
    bash scripts/system-deps.sh
    echo "\$ mape lab demo"
    exec "$mape" lab demo
fi

echo "(not root: no lab; the calculator on the built-in tables instead)"
echo "\$ mape calc 240b:10:3f6c:d400::/56        # a v6plus delegated prefix"
"$mape" calc 240b:10:3f6c:d400::/56
echo
echo "\$ mape calc --reverse 106.72.63.108:7490  # which CE owns this address and port?"
"$mape" calc --reverse 106.72.63.108:7490
