"""Network namespaces for labs, tests and benchmarks: created, wired, and always deleted
together with the processes started in them.

Addresses come from documentation space only, and no namespace is linked to the host's
own network: veth pairs join namespaces to each other, never to the root namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mapekit.core.errors import MapeError

SRC = Path(__file__).resolve().parents[2]  # the directory holding the mapekit package
MAPE = (sys.executable, "-m", "mapekit")  # this mapekit, whatever is on PATH
# who owns each running lab: <prefix>.json with the owner's pid and start time, written
# before the first namespace and removed by close() and detach(); a lab whose owner died
# (SIGKILL, a killed test run, a power cut of the process) is swept by the next one
OWNERS = Path(os.environ.get("MAPEKIT_LAB_OWNERS", "/run/mapekit-lab-owners"))
LAB_NAME = re.compile(r"^(mk[0-9a-f]{6})-[a-z0-9-]+$")  # the namespaces Lab() names


class LabError(MapeError):
    """The lab could not be built, or a step of it failed."""

    def __init__(self, message: str) -> None:
        super().__init__("lab.failed", message, field="lab")


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
        if not self.nodes:
            sweep_dead_labs()
            _claim(self.prefix)
        for node in nodes:
            sh("ip", "netns", "add", self.ns(node))
            self.nodes.append(node)
            self.run(node, "ip", "link", "set", "lo", "up")

    def link(self, a: str, a_if: str, b: str, b_if: str) -> None:
        """A veth pair made directly inside the two namespaces (never in the host's)."""
        sh("ip", "link", "add", a_if, "netns", self.ns(a), "type", "veth",
           "peer", "name", b_if, "netns", self.ns(b))  # fmt: skip
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
        """``mape ARGS`` (this mapekit) in ``node``, in the background."""
        return self.start(node, *MAPE, *args, log=log)

    def run_mape(
        self, node: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``mape ARGS`` (this mapekit) in ``node``, waited for."""
        return self.run(node, *MAPE, *args, check=check)

    def close(self) -> None:
        """Stop every process the lab started (the leaders first: a daemon stops its own
        helpers), kill whatever is still running in its namespaces (dhcpcd's
        privilege-separation proxies can outlive their parent), delete the namespaces."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=self.grace.get(proc.pid, 10.0))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for node in reversed(self.nodes):
            _remove_namespace(self.ns(node))
        self.nodes.clear()
        _release(self.prefix)

    def detach(self) -> dict[str, object]:
        """Leave everything running (``mape lab up``); returns what ``teardown`` needs."""
        state: dict[str, object] = {
            "prefix": self.prefix,
            "nodes": list(self.nodes),
            "pids": [p.pid for p in self.procs],
            "grace": {str(p.pid): self.grace.get(p.pid, 10.0) for p in self.procs},
        }
        self.nodes, self.procs = [], []
        _write_record(self.prefix, {"up": True})  # ``mape lab down`` owns it now
        return state

    @staticmethod
    def teardown(state: dict[str, object]) -> list[str]:
        """Stop a detached lab's processes and delete its namespaces; says what it did.

        Only processes still inside the lab's namespaces are signalled (a recorded pid may
        belong to another process by now)."""
        done: list[str] = []
        prefix = str(state["prefix"])
        names = [f"{prefix}-{node}" for node in state.get("nodes", [])]  # type: ignore[attr-defined]
        inside = {pid for name in names for pid in _netns_pids(name)}
        grace: dict[str, float] = state.get("grace", {})  # type: ignore[assignment]
        now = time.monotonic()
        deadlines = {}
        for pid in [int(p) for p in state.get("pids", [])]:  # type: ignore[attr-defined]
            if pid in inside:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
                    deadlines[pid] = now + float(grace.get(str(pid), 10.0))
                    done.append(f"stopped process {pid}")
        while deadlines:
            now = time.monotonic()
            deadlines = {p: d for p, d in deadlines.items() if _alive(p) and d > now}
            time.sleep(0.1)
        for name in reversed(names):
            killed = _remove_namespace(name)
            if killed:
                done.append(f"killed {killed} processes left in {name}")
            done.append(f"deleted namespace {name}")
        _release(prefix)
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


def stat_fields(stat: str) -> list[str]:
    """The fields of a ``/proc/PID/stat`` line after the command name: ``[0]`` is the state
    (field 3), ``[19]`` the start time in clock ticks since boot (field 22)."""
    return stat.rpartition(")")[2].split()


def start_time(stat: str) -> int | None:
    """The start time in a ``/proc/PID/stat`` line, None when it has none."""
    fields = stat_fields(stat)
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else None


def _read_stat(pid: int) -> str | None:
    """``/proc/PID/stat``, None when there is no such process (read only: never reaps)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None


def owner_gone(record: object, stat: str | None) -> bool:
    """Whether the owner ``record`` names has surely exited, ``stat`` being its
    ``/proc/PID/stat`` now (None: no such process). Gone: no process, a zombie, or another
    process under the same pid (another start time). Anything unclear counts as running."""
    if not isinstance(record, dict) or type(record.get("started")) is not int:
        return False
    if stat is None:
        return True
    if stat_fields(stat)[:1] == ["Z"]:
        return True
    started = start_time(stat)
    return started is not None and started != record["started"]


def _claim(prefix: str) -> None:
    """Record this process as the owner of lab ``prefix``. Where its start time cannot be
    read or /run cannot be written, the lab runs all the same, unrecorded: no sweep will
    take it for a dead run's.

    The record names a process, not the ``Lab`` object: a lab handed to another process
    (across a fork) must be handed over with :meth:`Lab.detach`."""
    stat = _read_stat(os.getpid())
    started = None if stat is None else start_time(stat)
    if started is not None:
        _write_record(prefix, {"pid": os.getpid(), "started": started})


def _write_record(prefix: str, record: dict[str, object]) -> None:
    temporary = OWNERS / f".{prefix}.tmp"
    with contextlib.suppress(OSError):
        OWNERS.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(record))
        temporary.replace(OWNERS / f"{prefix}.json")


def _release(prefix: str) -> None:
    with contextlib.suppress(OSError):
        (OWNERS / f"{prefix}.json").unlink(missing_ok=True)


def _read_record(path: Path) -> object:
    """A record as written, None when it cannot be read (left alone, as a running one)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _owner_gone(record: object) -> bool:
    if not isinstance(record, dict) or type(record.get("pid")) is not int:
        return False
    try:
        stat = _read_stat(record["pid"])
    except OSError:
        return False  # cannot tell
    return owner_gone(record, stat)


def lab_namespaces() -> dict[str, list[str]]:
    """The namespaces named as ``Lab()`` names them, by lab prefix."""
    found: dict[str, list[str]] = {}
    for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split(" ", 1)[0]
        matched = LAB_NAME.match(name)
        if matched:
            found.setdefault(matched.group(1), []).append(name)
    return found


@dataclass(frozen=True)
class Swept:
    """What :func:`sweep_dead_labs` did, and the lab namespaces it left alone."""

    deleted: dict[str, list[str]]  # prefix -> its namespaces, deleted (owner dead)
    killed: int  # processes still running in them
    kept_up: dict[str, list[str]]  # prefix -> namespaces of labs ``mape lab up`` left running
    unowned: dict[str, list[str]]  # prefix -> namespaces with no record (left alone)

    def to_dict(self) -> dict[str, object]:
        return {"deleted": self.deleted, "killed": self.killed, "kept_up": self.kept_up,
                "unowned": self.unowned}  # fmt: skip


def sweep_dead_labs() -> Swept:
    """Delete the labs whose owner process is gone (with every process still in them).

    A lab whose owner runs is never touched, nor one ``mape lab up`` left running (its
    record says so until ``mape lab down``), nor namespaces without a record: those are
    reported as ``unowned``. A record whose namespaces are all gone is removed."""
    records = {p.name.removesuffix(".json"): p for p in OWNERS.glob("mk*.json")}
    namespaces = lab_namespaces()
    deleted: dict[str, list[str]] = {}
    kept_up: dict[str, list[str]] = {}
    killed = 0
    for prefix, path in sorted(records.items()):
        names = sorted(namespaces.get(prefix, []))
        record = _read_record(path)
        if isinstance(record, dict) and record.get("up") is True:
            if names:
                kept_up[prefix] = names
            else:  # deleted by hand: nothing left to keep
                _release(prefix)
            continue
        if not _owner_gone(record):
            continue
        for name in reversed(names):
            killed += _remove_namespace(name)
        _release(prefix)
        if names:
            deleted[prefix] = names
    unowned = {p: sorted(n) for p, n in sorted(namespaces.items()) if p not in records}
    return Swept(deleted, killed, kept_up, unowned)


def _netns_pids(name: str) -> set[int]:
    """The processes inside the network namespace ``name``."""
    listed = sh("ip", "netns", "pids", name, check=False).stdout.split()
    return {int(pid) for pid in listed if pid.isdigit()}


def _sweep(name: str) -> int:
    """SIGKILL every process still running inside namespace ``name``; how many."""
    killed = 0
    for pid in _netns_pids(name):
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
    return killed


def _remove_namespace(name: str) -> int:
    """Kill what still runs in namespace ``name``, then delete it; how many were killed."""
    killed = _sweep(name)
    _delete_namespace(name)
    return killed


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
    return stat_fields(stat)[:1] != ["Z"]


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
