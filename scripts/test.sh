#!/usr/bin/env bash
# The whole test suite: set up, lint (ruff), type-check (mypy --strict), then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh -k calc).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-deps.sh   # nftables, iproute2 (as root)
. scripts/pg.sh   # a private PostgreSQL for the server tests (as root)

echo "== ruff" >&2
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
echo "== mypy --strict" >&2
.venv/bin/mypy --strict src
echo "== pytest" >&2
.venv/bin/python -m pytest --durations=25 "$@"  # the slowest tests, to keep the suite short
