"""``mape states``: the CE provisioning state diagram, drawn from the transition table."""

from __future__ import annotations

import argparse

from mapekit.cli import output
from mapekit.provision.table import TRANSITIONS, diagram


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="the table as JSON rows")


def run(args: argparse.Namespace) -> int:
    if not args.json:
        output.emit(diagram())
        return output.OK
    rows = [
        {
            "state": None if state is None else state.value,
            "trigger": trigger.value,
            "target": None if row.target is None else row.target.value,
            "actions": [a.value for a in row.actions],
            "wait": None if row.wait is None else row.wait.value,
        }
        for (state, trigger), row in TRANSITIONS.items()
    ]
    output.emit_json({"transitions": rows})
    return output.OK
