"""Request limits of the ways to serve the rule server, measured side by side.

    .venv/bin/python bench/bench_limits.py [--partial N] [--header-mb M] [--seconds S]

Four set-ups serve the same app (this tree, SQLite, 10,000 subscribers) on loopback:

- ``uvicorn-httptools``: uvicorn with httptools and its defaults (how ``mape server
  serve`` ran before; the baseline);
- ``mapekit (uvicorn+h11 guard)``: ``mape server serve`` itself — uvicorn with h11 and
  :class:`mapekit.server.guard.GuardedH11Protocol` (16 KiB head, 10 s to send it, 32
  connections per peer);
- ``hypercorn-h11``: Hypercorn with ``h11_max_incomplete_size`` 16 KiB and
  ``read_timeout`` 10 s;
- ``nginx -> uvicorn``: nginx (Debian's ``nginx-light``, when installed) in front of
  uvicorn-httptools, with ``client_header_timeout 10s``, ``large_client_header_buffers 4
  16k`` and ``limit_conn`` 32 per address; the app trusts nginx's ``X-Real-IP``.

For each, from an untrusted peer (127.0.0.2): one request with a ``--header-mb`` MB header
(bytes taken before the server refused, time, the server's peak RSS, and the worst
latency of health probes from another address meanwhile); ``--partial`` connections that
each send half a request head and stop (how many the server still holds after 1 s and
after 12 s, and whether a health probe from another address is answered); 20 connections
that trickle a request head one byte every 2 s for 16 s (how many are still open). Then the
plain speed: 20 keep-alive connections asking ``get_rules`` as random subscribers for
``--seconds`` (p50 / p99 and requests per second).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bench_mixed as mixed

ROOT = Path(__file__).resolve().parents[1]
ATTACKER = "127.0.0.2"
NGINX_CONF = """
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx.err;
events {{ worker_connections 16384; }}
http {{
  access_log off;
  client_header_timeout 10s;
  client_body_timeout 60s;
  client_header_buffer_size 1k;
  large_client_header_buffers 4 16k;
  client_max_body_size 64m;
  limit_conn_zone $binary_remote_addr zone=peers:10m;
  # bench only: the load generator (127.0.0.1) names the subscriber it plays
  map $remote_addr $client {{ 127.0.0.1 $http_x_client_address; default $remote_addr; }}
  upstream app {{ server 127.0.0.1:{backend}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    limit_conn peers 32;
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Real-IP $client;
    }}
  }}
}}
"""


@dataclass
class Setup:
    name: str
    port: int
    procs: list[subprocess.Popen[bytes]]


def env_for(url: str, header: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MAPEKIT_SERVER_DB": url,
            "MAPEKIT_SERVER_CLIENT_HEADER": header, "MAPEKIT_SERVER_TRUSTED": "127.0.0.1/32",
            "MAPEKIT_SERVER_RATE": "0", "MAPEKIT_SERVER_ACCESS_LOG": "0"}  # fmt: skip


def spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


UVICORN = ("import uvicorn, sys; from mapekit.server.asgi import make_app; "
           "uvicorn.run(make_app(), host='127.0.0.1', port=int(sys.argv[1]), http='httptools', "
           "proxy_headers=False, log_level='warning', access_log=False)")  # fmt: skip
HYPERCORN = ("import asyncio, sys; from hypercorn.config import Config; "
             "from hypercorn.asyncio import serve; from mapekit.server.asgi import make_app; "
             "c = Config(); c.bind = [f'127.0.0.1:{sys.argv[1]}']; c.read_timeout = 10; "
             "c.h11_max_incomplete_size = 16384; c.accesslog = None; "
             "asyncio.run(serve(make_app(), c))")  # fmt: skip


def start(name: str, url: str, work: Path) -> Setup | None:
    port = mixed.free_port()
    env = env_for(url, "X-Client-Address")
    if name == "uvicorn-httptools":
        procs = [spawn([sys.executable, "-c", UVICORN, str(port)], env)]
    elif name == "hypercorn-h11":
        procs = [spawn([sys.executable, "-c", HYPERCORN, str(port)], env)]
    elif name == "mapekit (uvicorn+h11 guard)":
        procs = [spawn([sys.executable, "-m", "mapekit", "server", "--db", url, "serve",
                        "--listen", f"127.0.0.1:{port}", "--rate-limit", "0", "--no-access-log",
                        "--client-address-header", "X-Client-Address",
                        "--trusted-proxy", "127.0.0.1/32"], env)]  # fmt: skip
    else:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            print(f"{name}: skipped (apt-get install nginx-light)")
            return None
        backend = mixed.free_port()
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(work=work, backend=backend, port=port))
        procs = [spawn([sys.executable, "-c", UVICORN, str(backend)], env_for(url, "X-Real-IP")),
                 spawn([nginx, "-c", str(conf), "-g", "daemon off;"], env)]  # fmt: skip
        mixed.wait_up(backend, procs[0])
    mixed.wait_up(port, procs[-1])
    return Setup(name, port, procs)


def stop(setup: Setup) -> None:
    for proc in reversed(setup.procs):
        proc.terminate()
        proc.wait(timeout=20)


def tree(pids: list[int]) -> list[int]:
    """The processes and all their descendants."""
    found = list(pids)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent in found and int(entry.name) not in found:
                found.append(int(entry.name))
    return found


def peak_rss_mb(setup: Setup) -> float:
    total = 0
    for pid in tree([p.pid for p in setup.procs]):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def probe(port: int) -> float | None:
    """Seconds for GET /healthz from 127.0.0.1 (None: no answer within 10 s)."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            if not sock.recv(64).startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return time.monotonic() - start


def probing(port: int, stop_flag: threading.Event, worst: list[float | None]) -> None:
    while not stop_flag.is_set():
        took = probe(port)
        worst[0] = None if took is None or worst[0] is None else max(worst[0], took)
        time.sleep(0.1)


def attacker_socket(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind((ATTACKER, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def huge_header(setup: Setup, megabytes: int) -> str:
    stop_flag, worst = threading.Event(), [0.0]
    watcher = threading.Thread(target=probing, args=(setup.port, stop_flag, worst))
    watcher.start()
    sent, status, start = 0, "", time.monotonic()
    try:
        sock = attacker_socket(setup.port)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: b\r\nX-Big: ")
        chunk = b"a" * 65536
        while sent < megabytes << 20 and time.monotonic() - start < 60:
            sock.sendall(chunk)
            sent += len(chunk)
        sock.sendall(b"\r\n\r\n")
        status = sock.recv(64).split(b"\r\n")[0].decode(errors="replace")
    except OSError as exc:
        status = f"closed ({type(exc).__name__})"
    took = time.monotonic() - start
    stop_flag.set()
    watcher.join()
    shown = "no answer" if worst[0] is None else f"{1000 * worst[0]:.0f} ms"
    return (f"{sent / (1 << 20):7.1f} MB taken, {took:5.1f} s, {status or 'no status'}; "
            f"server peak RSS {peak_rss_mb(setup):5.0f} MB; worst probe {shown}")  # fmt: skip


def _still_open(held: list[socket.socket]) -> int:
    count = 0
    for sock in held:
        sock.settimeout(0.01)
        try:
            count += sock.recv(1) != b""
        except TimeoutError:
            count += 1
        except OSError:
            pass
    return count


def partial_requests(setup: Setup, count: int) -> str:
    held: list[socket.socket] = []
    for _ in range(count):
        try:
            sock = attacker_socket(setup.port)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: b\r\n")
            held.append(sock)
        except OSError:
            break
    time.sleep(1)
    early = _still_open(held)
    during = probe(setup.port)
    time.sleep(11)
    late = _still_open(held)
    for sock in held:
        sock.close()
    shown = "no answer" if during is None else f"answered in {1000 * during:.0f} ms"
    return (f"{len(held)} of {count} connected; held after 1 s: {early}, after 12 s: {late}; "
            f"probe {shown}")  # fmt: skip


def trickle(setup: Setup, count: int = 20, seconds: float = 16.0) -> str:
    """``count`` connections sending a request head one byte every 2 s."""
    held = [attacker_socket(setup.port) for _ in range(count)]
    head = b"GET /healthz HTTP/1.1\r\nHost: b\r\nX-Slow: " + b"a" * 64
    start, index = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        for sock in held:
            with contextlib.suppress(OSError):
                sock.sendall(head[index : index + 1])
        index += 1
        time.sleep(2)
    still = _still_open(held)
    for sock in held:
        sock.close()
    return f"{still} of {count} still open after {seconds:.0f} s of one byte per 2 s"


def speed(setup: Setup, seconds: float) -> str:
    async def run() -> list[float]:
        start_at = time.perf_counter() + 1.0
        window = mixed.Window(start_at, start_at + seconds)
        make: Callable[[], bytes] = lambda: mixed.read_request(10_000)  # noqa: E731
        await asyncio.gather(*[mixed.worker(setup.port, make, window) for _ in range(20)])
        return sorted(window.latencies)

    ordered = asyncio.run(run())
    return (f"p50 {1000 * statistics.median(ordered):5.1f} ms, p99 "
            f"{1000 * ordered[int(len(ordered) * 0.99)]:5.1f} ms, "
            f"{len(ordered) / seconds:5.0f} req/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partial", type=int, default=2000)
    parser.add_argument("--header-mb", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.partial + 512)), hard))
    work = Path(tempfile.mkdtemp(prefix="mapekit-limits-"))
    url = f"sqlite:///{work / 'limits.db'}"
    mixed.prepare(ROOT / "src", url, 10_000)
    names = ["uvicorn-httptools", "mapekit (uvicorn+h11 guard)", "hypercorn-h11",
             "nginx -> uvicorn"]  # fmt: skip
    for name in names:
        for test in ("header", "partial", "trickle", "speed"):
            setup = start(name, url, work)  # a fresh server for each test
            if setup is None:
                break
            try:
                if test == "header":
                    result = huge_header(setup, args.header_mb)
                elif test == "partial":
                    result = partial_requests(setup, args.partial)
                elif test == "trickle":
                    result = trickle(setup)
                else:
                    result = speed(setup, args.seconds)
            finally:
                stop(setup)
            print(f"{name:28} {test:8} {result}", flush=True)


if __name__ == "__main__":
    main()
