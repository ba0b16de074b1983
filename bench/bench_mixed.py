"""get_rules latency under writes: 20 writers switching targets and 20 readers, at once.

    .venv/bin/python bench/bench_mixed.py [--seconds S] [--subscribers N] [--workers W]
        [--baseline-src DIR] [--db sqlite|postgresql]

For each code version — this tree's ``src`` and, when ``--baseline-src`` names the
``src`` of another checkout (e.g. the commit before a change), that one as the baseline
measured in the same run — the script creates a database of N subscribers (HGW rented,
so both targets are allowed), starts ``mape server serve`` on loopback (``--workers``,
default one; rate limits off, the client address from a header trusted from 127.0.0.1),
and runs, for S seconds after a warm-up:

- 20 writers, each on its own keep-alive connection, switching a random subscriber's
  target through the admin API (``PUT /admin/subscribers/{id}/target``) in a loop;
- 20 readers, likewise, asking ``get_rules`` as a random subscriber.

It prints the readers' p50 / p99 / max latency and both request rates for each run, the
versions alternating ``--repeat`` times (a busy moment on a shared machine then hits both),
and the medians. The load
generator is plain asyncio over raw HTTP/1.1 (keep-alive), so its own cost stays small.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

CODE = "0123456789abcdef0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]
SETUP = f"""
import secrets, sys, time
import sqlalchemy as sa
from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.tables import builtin_rules
from mapekit.server import tables as t
from mapekit.server.service import Target, Vendor
from mapekit.server.store import Store, prefix_key, rules_domain
url, count = sys.argv[1], int(sys.argv[2])
store = Store(url)
store.migrate()
store.add_rule_set(rules_domain("v6plus", list(builtin_rules().filter("v6plus")), None, 56), "b")
store.add_vendor(Vendor("{CODE}", "bench router", Target.ROUTER), "b")
now = time.time()
rows = []
for i in range(count):
    text = f"240b:10:{{i // 256:x}}:{{i % 256:x}}00::/56"
    value, length = parse_end_user_prefix(text)
    rows.append({{"id": f"{{i:032x}}", "prefix": text, "prefix_len": 56,
                 "prefix_hi": prefix_key(value, length), "hgw_rental": True,
                 "target": "router", "rule_set_id": 1, "token": secrets.token_hex(32),
                 "version": 1, "created_at": now, "updated_at": now}})
with store.engine.begin() as conn:
    conn.execute(t.prefix_lengths.insert().values(prefix_len=56))
    for start in range(0, len(rows), 20000):
        conn.execute(t.subscribers.insert(), rows[start:start + 20000])
print(store.add_token("bench", "b"))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(src: Path, url: str, count: int) -> str:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", SETUP, url, str(count)], env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   request: bytes) -> int:  # fmt: skip
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


def read_request(count: int) -> bytes:
    i = random.randrange(count)
    address = f"240b:10:{i // 256:x}:{i % 256:x}00::1"
    return (f"GET /{CODE}/get_rules?callback=v6plus HTTP/1.1\r\nHost: b\r\n"
            f"X-Client-Address: {address}\r\n\r\n").encode()  # fmt: skip


def write_request(count: int, token: str) -> bytes:
    i = random.randrange(count)
    body = json.dumps({"target": random.choice(["hgw", "router"])}).encode()
    return (f"PUT /admin/subscribers/{i:032x}/target HTTP/1.1\r\nHost: b\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body  # fmt: skip


@dataclass
class Window:
    """What a group of connections measures between ``start_at`` and ``until``."""

    start_at: float
    until: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


async def worker(port: int, make: Callable[[], bytes], window: Window) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (now := time.perf_counter()) < window.until:
            status = await exchange(reader, writer, make())
            if now >= window.start_at:
                window.latencies.append(time.perf_counter() - now)
                window.statuses[status] = window.statuses.get(status, 0) + 1
    finally:
        writer.close()


async def load(port: int, token: str, count: int, seconds: float) -> dict[str, object]:
    start_at = time.perf_counter() + 2.0  # warm-up
    reads = Window(start_at, start_at + seconds)
    writes = Window(start_at, start_at + seconds)
    tasks = [worker(port, lambda: read_request(count), reads) for _ in range(20)]
    tasks += [worker(port, lambda: write_request(count, token), writes) for _ in range(20)]
    await asyncio.gather(*tasks)
    ordered = sorted(reads.latencies)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[int(len(ordered) * 0.99)],
        "max_ms": 1000 * ordered[-1],
        "reads_per_s": len(ordered) / seconds,
        "writes_per_s": len(writes.latencies) / seconds,
        "read_status": reads.statuses,
        "write_status": writes.statuses,
    }


def wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def measure(src: Path, url: str, args: argparse.Namespace) -> dict[str, object]:
    token = prepare(src, url, args.subscribers)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-m", "mapekit", "server", "--db", url, "serve",
               "--listen", f"127.0.0.1:{port}", "--workers", str(args.workers), "--rate-limit", "0",
               "--no-access-log", "--client-address-header", "X-Client-Address",
               "--trusted-proxy", "127.0.0.1/32"]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_up(port, proc)
        return asyncio.run(load(port, token, args.subscribers, args.seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def database(kind: str, work: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{work / (name + '.db')}"
    base = os.environ.get("MAPEKIT_TEST_PG_URL")
    if not base:
        raise SystemExit("postgresql: set MAPEKIT_TEST_PG_URL (. scripts/pg.sh as root)")
    db = f"bench_{name}_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')  # a generated name
    return f"{base.rsplit('/', 1)[0]}/{db}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--baseline-src", type=Path, help="src/ of the code to compare with")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mapekit-mixed-"))
    versions = [("this tree", ROOT / "src")]
    if args.baseline_src:
        versions.insert(0, ("baseline", args.baseline_src.resolve()))
    print(f"get_rules under 20 writers + 20 readers, {args.db}, {args.subscribers:,} "
          f"subscribers, {args.workers} worker(s), {args.seconds:.0f} s")  # fmt: skip
    results: dict[str, list[dict[str, object]]] = {label: [] for label, _ in versions}
    for run in range(args.repeat):  # alternate, so a busy moment hits both
        for index, (label, src) in enumerate(versions):
            result = measure(src, database(args.db, work, f"r{run}v{index}"), args)
            results[label].append(result)
            print(f"{label:10} p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
                  f"max {result['max_ms']:7.1f} ms  reads/s {result['reads_per_s']:7.0f}  "
                  f"writes/s {result['writes_per_s']:6.0f}  statuses r={result['read_status']} "
                  f"w={result['write_status']}", flush=True)  # fmt: skip
    if args.repeat > 1:
        for label, runs in results.items():
            med = {k: statistics.median(float(r[k]) for r in runs)  # type: ignore[arg-type]
                   for k in ("p50_ms", "p99_ms", "reads_per_s", "writes_per_s")}  # fmt: skip
            print(f"{label:10} median of {len(runs)}: p50 {med['p50_ms']:.1f} ms, p99 "
                  f"{med['p99_ms']:.1f} ms, reads/s {med['reads_per_s']:.0f}, writes/s "
                  f"{med['writes_per_s']:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
