"""Start-up time of ``mape --help`` and ``mape calc`` against the interpreter alone.

The gate (docs/cli.md): both stay at or under 250 ms. Each command runs ``RUNS`` times in
a fresh process, interleaved with the baseline (``python -c pass``: the interpreter's own
start) so that load from other work on the machine hits both alike; the median and the
fastest run are printed, and the figure above the baseline. This prints figures; it
asserts nothing (tests never time).

    .venv/bin/python bench/bench_startup.py [RUNS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

MAPE = str(Path(sys.executable).parent / "mape")
GATE_MS = 250.0
CASES = {
    "baseline: python -c pass": [sys.executable, "-c", "pass"],
    "mape --help": [MAPE, "--help"],
    "mape calc PREFIX": [MAPE, "calc", "240b:10:3f6c:d400::/56"],
    "mape calc PREFIX --json": [MAPE, "calc", "240b:10:3f6c:d400::/56", "--json"],
    "mape status --help": [MAPE, "status", "--help"],
}


def once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env={"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"})  # fmt: skip
    return (time.perf_counter() - start) * 1000


def main(runs: int) -> None:
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, command in CASES.items():
            times[name].append(once(command))
    base = statistics.median(times["baseline: python -c pass"])
    print(f"start-up, {runs} runs each, interleaved (ms; gate {GATE_MS:.0f} for mape)")
    print(f"{'command':28} {'median':>8} {'fastest':>8} {'over baseline':>14}")
    for name, values in times.items():
        median = statistics.median(values)
        over = "" if name.startswith("baseline") else f"{median - base:+.0f}"
        mark = "" if name.startswith("baseline") or median <= GATE_MS else "  OVER THE GATE"
        print(f"{name:28} {median:8.0f} {min(values):8.0f} {over:>14}{mark}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
