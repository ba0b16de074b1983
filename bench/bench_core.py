"""Mapping-engine throughput against the full built-in table, with same-run baselines.

    .venv/bin/python bench/bench_core.py [--seconds S] [--json]

Figures: forward mappings/s (BMR selection + mapping, port set kept lazy), reverse
lookups/s (IPv4 + port → CE, what a BR does per packet), BMR selections/s, and the
wall time of `mape calc` as a whole process. Baselines measured in the same run:
a naive calculator (linear scan with `ipaddress` containment and bit strings, as simple
scripts do it) for the engine, and `python -c pass` for the process.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mapekit.core.mapping import map_prefix
from mapekit.core.rule import MappingRule
from mapekit.core.tables import builtin_rules

AIMS = {"forward": 100_000, "reverse": 500_000, "bmr": 300_000}


def rate(fn: Callable[[], int], seconds: float) -> float:
    """Operations per second of ``fn`` (which returns how many it did), best of 3."""
    best = 0.0
    for _ in range(3):
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            done += fn()
        best = max(best, done / (time.perf_counter() - start))
    return best


def inputs(rules: Sequence[MappingRule], count: int) -> tuple[list[int], list[tuple[int, int]]]:
    rng = random.Random(7)
    prefixes, addresses = [], []
    for _ in range(count):
        rule = rng.choice(rules)
        tail = rng.getrandbits(rule.ea_len)
        prefix = int(rule.ipv6_prefix.network_address) | (tail << (128 - rule.ea_end))
        prefixes.append(prefix)
        m = map_prefix(rule, prefix, 56)
        first, last = rng.choice(list(m.port_set.ranges()))
        addresses.append((m.ipv4, rng.randint(first, last)))
    return prefixes, addresses


def naive_forward(rules: Sequence[MappingRule], prefix: int) -> tuple[str, int]:
    """What a simple calculator does: scan, test containment, slice bit strings."""
    addr = ipaddress.IPv6Address(prefix)
    best = max((r for r in rules if addr in r.ipv6_prefix), key=lambda r: r.ipv6_prefix.prefixlen)
    bits = format(prefix, "0128b")
    n, r = best.ipv6_prefix.prefixlen, best.ipv4_prefix.prefixlen
    ea = bits[n : n + best.ea_len]
    v4 = format(int(best.ipv4_prefix.network_address), "032b")[:r] + ea[: 32 - r]
    return str(ipaddress.IPv4Address(int(v4, 2))), int(ea[32 - r :] or "0", 2)


def process_median(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.5, help="time per figure")
    parser.add_argument("--runs", type=int, default=15, help="process runs for the median")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rules = builtin_rules()
    rule_list = list(rules)
    prefixes, addresses = inputs(rule_list, 4096)

    def forward() -> int:
        m = rules.map
        for p in prefixes:
            m(p, 56)
        return len(prefixes)

    def reverse() -> int:
        rv = rules.reverse
        for a, port in addresses:
            rv(a, port)
        return len(addresses)

    def bmr() -> int:
        find = rules.find_bmr
        for p in prefixes:
            find(p)
        return len(prefixes)

    def naive() -> int:
        for p in prefixes[:64]:
            naive_forward(rule_list, p)
        return 64

    # the naive calculator must agree with the engine before it is worth timing
    for p in prefixes[:200]:
        m = rules.map(p, 56)
        assert naive_forward(rule_list, p) == (m.ipv4_text, m.psid)

    figures = {
        "forward_per_s": rate(forward, args.seconds),
        "reverse_per_s": rate(reverse, args.seconds),
        "bmr_per_s": rate(bmr, args.seconds),
        "naive_forward_per_s": rate(naive, args.seconds),
    }
    mape = Path(sys.executable).with_name("mape")
    calc = [str(mape)] if mape.exists() else [sys.executable, "-m", "mapekit"]
    figures["calc_process_median_ms"] = 1000 * process_median(
        [*calc, "calc", "240b:10:3f6c:d400::/56"], args.runs
    )
    figures["python_startup_median_ms"] = 1000 * process_median(
        [sys.executable, "-c", "pass"], args.runs
    )
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"rules in table: {len(rules)}; inputs: {len(prefixes)} random prefixes/ports")
    for key, aim in AIMS.items():
        value = figures[f"{key}_per_s"]
        print(f"{key:>8}: {value:>12,.0f} /s   aim {aim:>9,} /s  ({value / aim:.2f}x of aim)")
    base = figures["naive_forward_per_s"]
    print(
        f"baseline naive forward (linear scan + bit strings): {base:,.0f} /s; "
        f"engine is {figures['forward_per_s'] / base:.0f}x faster"
    )
    calc_ms, py_ms = figures["calc_process_median_ms"], figures["python_startup_median_ms"]
    print(
        f"mape calc process: median {calc_ms:.0f} ms (aim <= 250 ms); "
        f"bare python startup {py_ms:.0f} ms; mape costs {calc_ms / py_ms:.1f}x startup"
    )


if __name__ == "__main__":
    main()
