"""``mape lab``: the demo (the story of a router left waiting for its MAP-E rules), the
scenarios, and a lab kept up between commands.

Everything runs in network namespaces this command creates (documentation addresses only,
no route to the host's network) and removes again, also when something fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

from mapekit.agent.control import ask_agent
from mapekit.cli import output
from mapekit.cli.extras import require
from mapekit.cli.statusview import render_status
from mapekit.core.errors import MapeError
from mapekit.core.files import load_json_file, read_text_file
from mapekit.lab.netns import (
    Lab,
    LabError,
    available,
    exec_interactive,
    snapshot,
    sweep_dead_labs,
)
from mapekit.lab.network import (
    LAB_BACKENDS,
    PREFIX,
    Topology,
    build_network,
    node_agent,
    parse_topology,
)
from mapekit.lab.scenarios import SCENARIOS, dataplane
from mapekit.lab.story import blank_rules

STATE_DIR = "/run/mapekit-lab"
T = TypeVar("T")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("demo", "scenario", "up", "down", "status", "exec", "sweep"),
        help=f"demo: replay the blank-rules story; scenario NAME ({', '.join(SCENARIOS)}); "
        "up/down: keep a lab running; status; exec NODE -- CMD; sweep: delete the labs of "
        "runs that died",
    )
    parser.add_argument(
        "rest", nargs=argparse.REMAINDER, metavar="ARG", help="scenario: NAME; exec: NODE -- CMD …"
    )
    parser.add_argument("--keep-logs", metavar="DIR", help="demo: keep every node's log in DIR")
    parser.add_argument("--dir", default=STATE_DIR, metavar="DIR",
                        help=f"up/down/status/exec: the lab's folder ({STATE_DIR})")  # fmt: skip
    parser.add_argument(
        "--topology",
        metavar="FILE",
        help="up: TOML with hgw (none|on|off), hgw_pd, provider (jpne|ocn|hb46pp|dhcpv6|"
        "static), target (hgw|router), tls, rogue, timer_scale, backend (userspace|bpf)",
    )
    parser.add_argument(
        "--backend",
        choices=LAB_BACKENDS,
        default="userspace",
        help="demo/scenario: the data plane of the CE and the BR",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _late_options(args: argparse.Namespace) -> None:
    """Options written after the action (``mape lab up --dir X``) land in ``rest``."""
    if not args.rest:
        return
    if args.action == "exec":  # only options before the node: the command keeps its own
        while len(args.rest) >= 2 and args.rest[0] == "--dir":
            args.dir, args.rest = args.rest[1], args.rest[2:]
        return
    late = argparse.ArgumentParser(prog="mape lab", add_help=False)
    late.add_argument("--dir")
    late.add_argument("--keep-logs")
    late.add_argument("--topology")
    late.add_argument("--json", action="store_true")
    late.add_argument("--backend", choices=LAB_BACKENDS)
    found, unknown = late.parse_known_args(args.rest)
    if unknown:
        raise output.UsageError(
            "usage.invalid_arguments", f"lab {args.action}: unexpected {' '.join(unknown)}"
        )
    args.dir = found.dir or args.dir
    args.keep_logs = found.keep_logs or args.keep_logs
    args.topology = found.topology or args.topology
    args.json = found.json or args.json
    args.backend = found.backend or args.backend


Play = Callable[[Lab, Path, Callable[[str], None]], T]


@contextlib.contextmanager
def _failures(work: Path) -> Iterator[None]:
    """A failed step of the lab as a clear error naming the logs, never a traceback."""
    try:
        yield
    except subprocess.CalledProcessError as exc:
        command = " ".join(str(a) for a in exc.cmd)
        why = (exc.stderr or exc.stdout or "").strip()[-400:]
        raise LabError(f"{command}: exit {exc.returncode}: {why} (logs in {work})") from None
    except TimeoutError as exc:
        raise LabError(f"{exc} (logs in {work})") from None


def _snapshot(prefix: str, nodes: list[str], work: Path) -> None:
    """Each node's state next to the logs; a failure here must not hide another one."""
    try:
        snapshot(prefix, nodes, work / "nodes")
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"mape lab: could not save the nodes' state: {exc}", file=sys.stderr)


def _play(args: argparse.Namespace, play: Play[T]) -> tuple[T, Path]:
    """Build a lab, play ``play`` in it, keep the logs and remove the lab, even on failure."""
    why = available()
    if why is not None:
        raise MapeError("dataplane.setup", f"lab: {why} (network namespaces)", field="lab")
    if args.topology:
        raise output.UsageError(
            "usage.invalid_arguments",
            f"--topology is for `mape lab up`; {args.action} builds its own lab",
            field="topology",
        )
    work = Path(args.keep_logs) if args.keep_logs else Path(tempfile.mkdtemp(prefix="mape-lab-"))

    def say(text: str) -> None:
        if not args.json:
            output.emit("\n" + text)

    with _failures(work), Lab() as lab:
        try:
            result = play(lab, work, say)
        finally:
            _snapshot(lab.prefix, lab.nodes, work)
    if not args.json:
        output.emit(f"\nThe lab is gone again; logs in {work}")
    return result, work


def scenario(args: argparse.Namespace) -> int:
    """``mape lab scenario NAME``: one situation, played and torn down."""
    if not args.rest or args.rest[0] not in SCENARIOS:
        raise output.UsageError(
            "usage.invalid_arguments",
            f"scenario: one of {', '.join(SCENARIOS)}",
            field="scenario",
        )
    name, args.rest = args.rest[0], args.rest[1:]
    _late_options(args)
    base = Topology(backend=args.backend)

    def play(lab: Lab, work: Path, say: Callable[[str], None]) -> dict[str, object]:
        found = SCENARIOS[name](lab, work, say, base)
        return {**found, "dataplane": dataplane(lab, work)}

    result, work = _play(args, play)
    if args.json:
        output.emit_json({"scenario": name, **result, "logs": str(work)})
    return output.OK


def run(args: argparse.Namespace) -> int:
    require("lab", "lab", args.lang)
    if args.action == "scenario":
        return scenario(args)
    _late_options(args)
    if args.action in ("up", "down", "status", "exec", "sweep"):
        if args.topology and args.action != "up":
            raise output.UsageError(
                "usage.invalid_arguments", "--topology is for `mape lab up`", field="topology"
            )
        actions = {"up": up, "down": down, "status": status, "exec": execute, "sweep": sweep}
        return actions[args.action](args)
    base = Topology(backend=args.backend)
    result, work = _play(args, lambda lab, work, say: blank_rules(lab, work, say, base))
    if args.json:
        output.emit_json({**asdict(result), "logs": str(work)})
    ok = result.port_in_set and result.diagnosis is not None
    return output.OK if ok else output.exit_code(MapeError("internal.error", "").reason.category)


def _state_path(args: argparse.Namespace) -> Path:
    return Path(args.dir) / "state.json"


def _load(args: argparse.Namespace) -> dict[str, object]:
    try:
        doc = load_json_file(_state_path(args), what="dir", max_bytes=1 << 20)
    except (FileNotFoundError, MapeError):
        raise MapeError(
            "status.unavailable", f"lab: no running lab recorded in {args.dir}", field="dir"
        ) from None
    if not isinstance(doc, dict):
        raise MapeError("status.unavailable", f"lab: {args.dir}: not a lab's state", field="dir")
    return dict(doc)


def up(args: argparse.Namespace) -> int:
    """Build the story's lab and leave it running (the subscriber's target is the HGW)."""
    why = available()
    if why is not None:
        raise MapeError("dataplane.setup", f"lab: {why}", field="lab")
    if _state_path(args).exists():
        raise MapeError(
            "server.exists", f"lab: one is already up ({args.dir}); mape lab down", field="dir"
        )
    topology = Topology()
    if args.topology:
        try:
            text = read_text_file(args.topology, what="topology", max_bytes=1 << 20)
        except FileNotFoundError:
            raise MapeError(
                "data.file_unreadable", f"topology: {args.topology}: no such file", field="topology"
            ) from None
        topology = parse_topology(text, args.topology)
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    lab = Lab()
    try:
        with _failures(work):
            net = build_network(lab, work, topology)
            lab.mape("ce", "agent", "--config", str(net.ce_config), log=work / "agent.log")
    except BaseException:
        _snapshot(lab.prefix, lab.nodes, work)
        lab.close()
        raise
    db = net.db
    state: dict[str, object] = {
        **lab.detach(),
        "work": str(work),
        "db": db,
        "topology": vars(topology),
    }
    nodes = [str(n) for n in state["nodes"]]  # type: ignore[attr-defined]
    _state_path(args).write_text(json.dumps(state))
    doc = {
        "up": True,
        "nodes": nodes,
        "prefix": state["prefix"],
        "topology": vars(topology),
        "logs": str(work),
    }
    if args.json:
        output.emit_json(doc)
    else:
        hints = [
            "mape lab status          the CE's state",
            "mape lab exec lan -- curl http://198.51.100.7/",
            *(["mape lab exec lan -- iperf3 -c 198.51.100.7"] if shutil.which("iperf3") else []),
            f"mape lab exec ngn -- mape server --db {db} subscriber set-target "
            f"--prefix {PREFIX} router",
            "mape lab down",
        ]
        output.emit(
            f"lab up: nodes {', '.join(nodes)} (namespaces {state['prefix']}-*); logs in "
            f"{work}\n" + "\n".join(f"  {hint}" for hint in hints)
        )
    return output.OK


def down(args: argparse.Namespace) -> int:
    state = _load(args)
    nodes = [str(n) for n in state["nodes"]]  # type: ignore[attr-defined]
    _snapshot(str(state["prefix"]), nodes, Path(str(state["work"])))
    done = Lab.teardown(state)
    _state_path(args).unlink(missing_ok=True)
    if args.json:
        output.emit_json({"down": True, "done": done})
    else:
        output.emit("\n".join(done) + "\nlab down")
    return output.OK


def sweep(args: argparse.Namespace) -> int:
    """Delete the labs whose owner died (a killed test run or demo); list the rest."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        raise MapeError("dataplane.setup", "lab: sweep needs root and ip", field="lab")
    swept = sweep_dead_labs()
    if args.json:
        output.emit_json(swept.to_dict())
        return output.OK
    lines = [f"deleted {', '.join(names)} (its run had died)" for names in swept.deleted.values()]
    if swept.killed:
        lines.append(f"killed {swept.killed} processes left in them")
    lines += [
        f"left {prefix}-* running: `mape lab up` keeps it (mape lab down)"
        for prefix in swept.kept_up
    ]
    lines += [
        f"left {', '.join(names)}: no run recorded as its owner (ip netns delete NAME)"
        for names in swept.unowned.values()
    ]
    output.emit("\n".join(lines) if lines else "no lab of a dead run: nothing to do")
    return output.OK


def status(args: argparse.Namespace) -> int:
    state = _load(args)
    work = Path(str(state["work"]))
    agent = ask_agent(str(node_agent(work, "ce")[1]), "status") or {}
    doc: dict[str, object] = {"nodes": state["nodes"], "prefix": state["prefix"], "ce": agent}
    hgw_socket = node_agent(work, "hgw")[1]
    if hgw_socket.exists():
        doc["hgw"] = ask_agent(str(hgw_socket), "status") or {}
    if args.json:
        output.emit_json(doc)
    else:
        output.emit(f"nodes: {', '.join(state['nodes'])}")  # type: ignore[arg-type]
        output.emit(render_status(agent) if agent else "the CE's agent does not answer")
        if "hgw" in doc:
            output.emit("\nthe HGW's own MAP-E:")
            hgw = doc["hgw"]
            output.emit(render_status(hgw) if hgw else "the HGW's agent does not answer")  # type: ignore[arg-type]
    return output.OK


def execute(args: argparse.Namespace) -> int:
    state = _load(args)
    rest = list(args.rest)
    if not rest or rest[0] not in state["nodes"]:  # type: ignore[operator]
        raise output.UsageError(
            "usage.invalid_arguments",
            f"exec: give one of {state['nodes']} then -- CMD",
            field="node",
        )
    node, command = rest[0], [a for a in rest[1:] if a != "--"][:]
    if rest[1:2] == ["--"]:
        command = rest[2:]
    if not command:
        raise output.UsageError("usage.invalid_arguments", "exec: no command", field="command")
    if command[0] == "mape":
        command = [sys.executable, "-m", "mapekit", *command[1:]]
    return exec_interactive(str(state["prefix"]), node, command)
