"""``mape lab demo``: replay the story of a router left waiting for its MAP-E rules.

Everything runs in network namespaces this command creates (documentation addresses only,
no route to the host's network) and removes again, also when something fails.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import asdict
from pathlib import Path

from mapekit.cli import output
from mapekit.core.errors import MapeError
from mapekit.lab.netns import Lab, available
from mapekit.lab.story import blank_rules


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("demo",), help="demo: replay the blank-rules story")
    parser.add_argument("--keep-logs", metavar="DIR", help="keep every node's log in DIR")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")


def run(args: argparse.Namespace) -> int:
    why = available()
    if why is not None:
        raise MapeError(
            "dataplane.setup", f"lab: {why} (network namespaces, nftables)", field="lab"
        )
    work = Path(args.keep_logs) if args.keep_logs else Path(tempfile.mkdtemp(prefix="mape-lab-"))
    work.mkdir(parents=True, exist_ok=True)

    def say(text: str) -> None:
        if not args.json:
            output.emit("\n" + text)

    with Lab() as lab:
        result = blank_rules(lab, work, say)
    if args.json:
        output.emit_json({**asdict(result), "logs": str(work)})
    else:
        output.emit(f"\nThe lab is gone again; logs in {work}")
    ok = result.port_in_set and result.diagnosis is not None
    return output.OK if ok else output.exit_code(MapeError("internal.error", "").reason.category)
