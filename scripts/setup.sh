#!/usr/bin/env bash
# Create .venv (once) and install mapekit with its development tools into it, at the exact
# versions of requirements/dev.txt (hashes checked; scripts/lock.sh makes that file from
# the ranges in pyproject.toml). Idempotent and quiet; safe on a fresh machine as root or
# as a user.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "mapekit needs Python 3.11 or newer ($python is $("$python" --version 2>&1))" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv" >&2
    "$python" -m venv .venv
fi
stamp=.venv/.mapekit-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements/dev.txt -nt "$stamp" ] \
    || [ setup.py -nt "$stamp" ]; then
    echo "setup: installing mapekit and its development tools into .venv (requirements/dev.txt)" >&2
    pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check)
    "${pip[@]}" install --require-hashes -r requirements/dev.txt
    # mapekit itself, built with the locked setuptools, argparse-manpage and shtab
    "${pip[@]}" install --no-deps --no-build-isolation -e .
    touch "$stamp"
fi
# the bpf data plane's objects, beside their sources (an editable install has no build
# step of its own); without clang the backend builds them at run time or says why not
if command -v clang >/dev/null 2>&1; then
    .venv/bin/python -m mapekit.dataplane.bpfbuild >/dev/null || echo "setup: bpf objects not built" >&2
fi
