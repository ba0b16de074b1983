"""Rule-server load: get_rules with 1,000,000 subscribers, on SQLite and PostgreSQL.

    bash bench/server.sh [--subscribers N] [--seconds S] [--workers W]

For each database: load N subscribers, start ``mape server serve`` on loopback (rate limit
off, access log off, client address from a header set by the load generator, trusted
because it comes from loopback), and run wrk with a Lua script that asks as a random
subscriber each time:
- saturation: requests/s with 64 connections, and p50/p99 latency;
- fixed rate: about 1,000 requests/s (wrk's per-connection delay), p50/p99 latency.
Baseline in the same run: the same load against a trivial ASGI app on the same uvicorn
setup that returns the same JSONP bytes (the ratio is what the application costs).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.tables import builtin_rules
from mapekit.provision import jpne
from mapekit.provision.model import RuleDelivery
from mapekit.server import tables as t
from mapekit.server.service import Target, Vendor
from mapekit.server.store import Store, prefix_key, rules_domain

CODE = "0123456789abcdef0123456789abcdef"
LUA = """
math.randomseed(os.time())
local n = {count}
local ids = {{}}
request = function()
  local i = math.random(0, n - 1)
  local addr = string.format("240b:10:%x:%x00::1", math.floor(i / 256), i % 256)
  return wrk.format("GET", "/{code}/get_rules?callback=v6plus", {{["X-Client-Address"] = addr}})
end
{delay}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load(url: str, count: int) -> float:
    """Create the schema and ``count`` subscribers; returns seconds taken."""
    store = Store(url)
    store.migrate()
    store.add_rule_set(
        rules_domain("v6plus", list(builtin_rules().filter("v6plus")), None, 56), "b"
    )
    store.add_vendor(Vendor(CODE, "bench router", Target.ROUTER), "b")
    start = time.perf_counter()
    now = time.time()
    with store.engine.begin() as conn:
        conn.execute(t.prefix_lengths.insert().values(prefix_len=56))
        batch = []
        for i in range(count):
            text = f"240b:10:{i // 256:x}:{i % 256:x}00::/56"
            value, length = parse_end_user_prefix(text)
            batch.append({
                "id": f"{i:032x}", "prefix": text, "prefix_len": 56,
                "prefix_hi": prefix_key(value, length), "hgw_rental": False,
                "target": "router", "rule_set_id": 1, "token": secrets.token_hex(32),
                "version": 1, "created_at": now, "updated_at": now,
            })  # fmt: skip
            if len(batch) == 20000:
                conn.execute(t.subscribers.insert(), batch)
                batch = []
        if batch:
            conn.execute(t.subscribers.insert(), batch)
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(t.subscribers)) == count
    store.engine.dispose()
    return time.perf_counter() - start


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start") from None
            time.sleep(0.2)


def check_answer(port: int) -> None:
    """One request as the load generator sends it must get the full rules."""
    reply = httpx.get(
        f"http://127.0.0.1:{port}/{CODE}/get_rules",
        params={"callback": "v6plus"},
        headers={"X-Client-Address": "240b:10:0:100::1"},
    )
    result = jpne.decode_get_rules(reply.content)
    if not isinstance(result, RuleDelivery) or len(result.rules) != 4:
        raise RuntimeError(f"unexpected answer: {reply.status_code} {reply.content[:80]!r}")


def wrk(port: int, script: Path, seconds: int, connections: int) -> dict[str, float]:
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    if done.stderr.strip() or "error" in done.stdout.lower():
        raise RuntimeError(f"wrk: {done.stderr or done.stdout}")
    out = done.stdout  # fmt: skip

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * scale

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def measure(
    command: list[str], port: int, scripts: tuple[Path, Path], seconds: int, env: dict[str, str]
) -> tuple[dict[str, float], dict[str, float]]:
    proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz", proc)
        check_answer(port)
        wrk(port, scripts[0], 2, 16)  # warm-up
        saturated = wrk(port, scripts[0], seconds, 64)
        fixed = wrk(port, scripts[1], seconds, 10)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return saturated, fixed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mapekit-bench-"))
    scripts = (work / "sat.lua", work / "fixed.lua")
    scripts[0].write_text(LUA.format(count=args.subscribers, code=CODE, delay=""))
    # 10 connections, each waiting 10 ms between requests: about 1,000 requests/s in all
    scripts[1].write_text(LUA.format(count=args.subscribers, code=CODE,
                                     delay="delay = function() return 10 end"))  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    results: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    urls = {"sqlite": f"sqlite:///{work / 'bench.db'}"}
    if os.environ.get("MAPEKIT_TEST_PG_URL"):
        urls["postgresql"] = os.environ["MAPEKIT_TEST_PG_URL"]
    for name in args.databases.split(","):
        if name not in urls:
            print(f"{name}: skipped (no server; run through bench/server.sh as root)")
            continue
        seconds = load(urls[name], args.subscribers)
        print(f"{name}: loaded {args.subscribers:,} subscribers in {seconds:.1f} s")
        port = free_port()
        command = [sys.executable, "-m", "mapekit", "server", "--db", urls[name], "serve",
                   "--listen", f"127.0.0.1:{port}", "--workers", str(args.workers),
                   "--rate-limit", "0", "--no-access-log",
                   "--client-address-header", "X-Client-Address",
                   "--trusted-proxy", "127.0.0.1/32"]  # fmt: skip
        results[name] = measure(command, port, scripts, args.seconds, env)
    port = free_port()
    baseline_cmd = [sys.executable, "-m", "uvicorn", "--factory", "bench.static_app:make_app",
                    "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
                    "--log-level", "warning", "--no-access-log"]  # fmt: skip
    base_env = {
        **env,
        "PYTHONPATH": env["PYTHONPATH"] + os.pathsep + str(Path(__file__).parents[1]),
    }
    baseline = measure(baseline_cmd, port, scripts, args.seconds, base_env)
    shutil.rmtree(work, ignore_errors=True)  # the databases of a million subscribers
    report(results, baseline, args)


def report(
    results: dict[str, tuple[dict[str, float], dict[str, float]]],
    baseline: tuple[dict[str, float], dict[str, float]],
    args: argparse.Namespace,
) -> None:
    print(f"\nget_rules, {args.subscribers:,} subscribers, {args.workers} workers, loopback")
    print(f"{'':12} {'req/s (64 conn)':>16} {'p50':>8} {'p99':>8} {'non-2xx':>8} | "
          f"{'~1000 req/s':>11} {'p50':>8} {'p99':>8}")  # fmt: skip
    rows = [*results.items(), ("static JSONP", baseline)]
    for name, (sat, fixed) in rows:
        print(f"{name:12} {sat['rps']:16,.0f} {sat['p50_ms']:7.2f}ms {sat['p99_ms']:7.2f}ms "
              f"{sat['non_2xx']:8.0f} | {fixed['rps']:11,.0f} {fixed['p50_ms']:7.2f}ms "
              f"{fixed['p99_ms']:7.2f}ms")  # fmt: skip
    for name, (sat, fixed) in results.items():
        print(f"{name}: {sat['rps'] / baseline[0]['rps']:.2f}x of the static baseline's "
              f"throughput; aim 3,000 req/s: {sat['rps'] / 3000:.2f}x; "
              f"p99 at ~1,000 req/s {fixed['p99_ms']:.1f} ms (aim <= 20 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
