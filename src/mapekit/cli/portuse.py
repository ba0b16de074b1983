"""``mape ports --usage``: who uses the port set now, from the running agent.

Per LAN host (flows and distinct ports), the busiest destinations (each needs a port of its
own per flow, so the set runs out per destination: the share says how close), ports in use
per block and per protocol, and the NAT failures the kernel counted.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping

from mapekit.agent.control import ask_agent
from mapekit.cli import output
from mapekit.core.errors import MapeError

BAR = 20


def fetch(path: str) -> dict[str, object]:
    doc = ask_agent(path, "status")
    if doc is None:
        raise MapeError("status.unavailable", f"socket: no agent answers on {path}",
                        field="socket")  # fmt: skip
    use = doc.get("port_use")
    if not isinstance(use, dict):
        raise MapeError("status.unavailable", "port_use: the agent has no data plane up "
                        "(or cannot read conntrack)", field="port_use")  # fmt: skip
    return use


def show_usage(args: argparse.Namespace) -> int:
    while True:
        use = fetch(args.socket)
        if args.json:
            output.emit_json(use)
        else:
            if args.watch:
                output.emit_raw("\x1b[H\x1b[2J")
            output.emit(render_usage(use))
        if not args.watch:
            return output.OK
        time.sleep(2)


def _bar(share: float) -> str:
    full = round(min(1.0, share) * BAR)
    return "#" * full + "." * (BAR - full)


def render_usage(use: Mapping[str, object]) -> str:
    count = int(str(use.get("port_count") or 0))
    per_protocol = use.get("ports_in_use") or {}
    lines = [
        f"Flows {use.get('flows')}; ports in use "
        + ", ".join(f"{k} {v}" for k, v in dict(per_protocol).items())  # type: ignore[call-overload]
        + f" of {count}; NAT failures {use.get('insert_failed')} (insert_failed), "
        f"drops {use.get('drop')}",
        "",
        "Busiest destinations (each flow needs its own port toward one destination)",
    ]
    rows = [["proto", "destination", "flows", "of the set", "", "hosts"]]
    for dest in use.get("busiest") or []:  # type: ignore[attr-defined]
        hosts = ", ".join(f"{h} {n}" for h, n in dest["hosts"].items())
        rows.append([dest["proto"], f"{dest['address']}:{dest['port']}", str(dest["flows"]),
                     f"{dest['share']:.0%}", _bar(dest["share"]), hosts])  # fmt: skip
    lines.append(output.table(rows, indent="  ") if len(rows) > 1 else "  (none)")
    lines += ["", "Per LAN host"]
    per_host = [["host", "flows", "ports"]]
    for host, numbers in dict(use.get("per_host") or {}).items():  # type: ignore[call-overload]
        per_host.append([host, str(numbers["flows"]), str(numbers["ports"])])
    lines.append(output.table(per_host, indent="  ") if len(per_host) > 1 else "  (none)")
    size = int(str(use.get("block_size") or 0))
    blocks = list(use.get("per_block") or [])  # type: ignore[call-overload]
    lines += ["", f"Ports in use per block (of {size})",
              "  " + " ".join(f"{n:>3}" for n in blocks)]  # fmt: skip
    if use.get("truncated"):
        lines.append("(more flows than the view keeps: the numbers are a lower bound)")
    return "\n".join(lines)
