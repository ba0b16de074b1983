#!/usr/bin/env bash
# Compile the lock files from the ranges in pyproject.toml (uv pip compile, hashes
# included): requirements/ce.txt is what a router's install (no extras) resolves to,
# requirements/dev.txt what scripts/setup.sh and CI install. Versions already in a lock
# file are kept; `bash scripts/lock.sh --upgrade` (or --upgrade-package NAME) moves them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
compile=(.venv/bin/uv pip compile pyproject.toml --universal --python-version 3.11
         --generate-hashes --quiet "$@")
"${compile[@]}" -o requirements/ce.txt
"${compile[@]}" --extra dev -o requirements/dev.txt
echo "lock: requirements/ce.txt requirements/dev.txt" >&2
