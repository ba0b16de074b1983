"""Network namespaces for labs, tests and benchmarks: created, wired, and always deleted
together with the processes started in them.

Addresses come from documentation space only, and no namespace is linked to the host's
own network: veth pairs join namespaces to each other, never to the root namespace.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]  # the directory holding the mapekit package


def available() -> str | None:
    """None when namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    missing = [tool for tool in ("ip", "nft") if shutil.which(tool) is None]
    return f"needs {', '.join(missing)}" if missing else None


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), check=check, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


@dataclass
class Lab:
    """A set of namespaces named ``<prefix>-<node>``; use as a context manager."""

    prefix: str = field(default_factory=lambda: f"mk{uuid.uuid4().hex[:6]}")
    nodes: list[str] = field(default_factory=list)
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    grace: dict[int, float] = field(default_factory=dict)  # pid -> seconds to stop

    def ns(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    def add(self, *nodes: str) -> None:
        for node in nodes:
            sh("ip", "netns", "add", self.ns(node))
            self.nodes.append(node)
            self.run(node, "ip", "link", "set", "lo", "up")

    def link(self, a: str, a_if: str, b: str, b_if: str) -> None:
        tmp_a, tmp_b = f"v{uuid.uuid4().hex[:8]}", f"v{uuid.uuid4().hex[:8]}"
        sh("ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b)
        sh("ip", "link", "set", tmp_a, "netns", self.ns(a), "name", a_if)
        sh("ip", "link", "set", tmp_b, "netns", self.ns(b), "name", b_if)
        self.run(a, "ip", "link", "set", a_if, "up")
        self.run(b, "ip", "link", "set", b_if, "up")

    def run(self, node: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.ns(node), *args, check=check)

    def python(self, node: str, code: str, *args: str, timeout: float = 20) -> str:
        done = subprocess.run(
            ["ip", "netns", "exec", self.ns(node), sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{node}: {done.stderr}")
        return done.stdout

    def start(
        self, node: str, *args: str, log: Path | None = None, grace: float = 10.0
    ) -> subprocess.Popen[str]:
        """Run ``args`` in ``node`` in a process group of its own; on close it gets SIGTERM
        and ``grace`` seconds, then the group gets SIGKILL."""
        extra = os.environ.get("PYTHONPATH", "")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(SRC), extra) if p)}
        out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - kept with the process
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(node), *args],
            start_new_session=True,  # survives the command that started it (mape lab up)
            env=env,
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.procs.append(proc)
        self.grace[proc.pid] = grace
        return proc

    def mape(self, node: str, *args: str, log: Path | None = None) -> subprocess.Popen[str]:
        return self.start(node, sys.executable, "-m", "mapekit", *args, log=log)

    def close(self) -> None:
        """Stop every process group the lab started (a daemon's helpers too: dhcpcd's
        privilege-separation proxies outlive their parent), then delete the namespaces."""
        for proc in reversed(self.procs):  # the leader: it stops its helpers itself
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=self.grace.get(proc.pid, 10.0))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            _signal_group(proc.pid, signal.SIGKILL)  # whatever of the group is left
        for node in reversed(self.nodes):
            _delete_namespace(self.ns(node))
        self.nodes.clear()

    def snapshot(self, folder: Path) -> list[Path]:
        """Each node's addresses, routes, sockets and nftables ruleset, one file per node."""
        return snapshot(self.prefix, self.nodes, folder)

    def detach(self) -> dict[str, object]:
        """Leave everything running (``mape lab up``); returns what ``attach`` needs."""
        state: dict[str, object] = {
            "prefix": self.prefix,
            "nodes": list(self.nodes),
            "pids": [p.pid for p in self.procs],
        }
        self.nodes, self.procs = [], []
        return state

    @staticmethod
    def teardown(state: dict[str, object]) -> list[str]:
        """Stop a detached lab's processes and delete its namespaces; says what it did."""
        done: list[str] = []
        pids = [int(p) for p in state.get("pids", [])]  # type: ignore[attr-defined]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
                done.append(f"stopped process {pid}")
        deadline = time.monotonic() + 10
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if _alive(p)]
            time.sleep(0.1)
        for pid in [int(p) for p in state.get("pids", [])]:  # type: ignore[attr-defined]
            _signal_group(pid, signal.SIGKILL)  # stragglers, and helpers of exited leaders
        prefix = str(state["prefix"])
        for node in reversed(state.get("nodes", [])):  # type: ignore[call-overload]
            _delete_namespace(f"{prefix}-{node}")
            done.append(f"deleted namespace {prefix}-{node}")
        return done

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SNAPSHOT = (
    ("addresses", ("ip", "addr")),
    ("IPv4 routes", ("ip", "route")),
    ("IPv6 routes", ("ip", "-6", "route")),
    ("sockets", ("ss", "-tulnp")),
    ("nftables", ("nft", "list", "ruleset")),
)


def snapshot(prefix: str, nodes: list[str], folder: Path) -> list[Path]:
    """``folder/<node>.txt`` for each node of the lab ``prefix`` (for inspection after a
    scenario, or before ``mape lab down``)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for node in nodes:
        parts = []
        for title, command in SNAPSHOT:
            done = sh("ip", "netns", "exec", f"{prefix}-{node}", *command, check=False)
            parts.append(f"## {title}: {' '.join(command)}\n{done.stdout}{done.stderr}")
        path = folder / f"{node}.txt"
        path.write_text("\n".join(parts))
        written.append(path)
    return written


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _delete_namespace(name: str) -> None:
    """The namespace and its ``/etc/netns/<name>`` files (resolv.conf, hosts)."""
    sh("ip", "netns", "delete", name, check=False)
    shutil.rmtree(Path("/etc/netns") / name, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Running (a zombie is not: an exited process nobody reaped, as under an init that
    does not reap orphans)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_for(check: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def exec_interactive(prefix: str, node: str, command: list[str]) -> int:
    """Run ``command`` in ``<prefix>-<node>`` with the caller's terminal; its exit status."""
    return subprocess.run(
        ["ip", "netns", "exec", f"{prefix}-{node}", *command], check=False
    ).returncode
