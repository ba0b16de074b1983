"""``mape forget``: erase the saved rules (the CE then uses only what it fetches)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mapekit.cli import output
from mapekit.client.state import StateStore

DEFAULT_STATE_DIR = "/var/lib/mapekit"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR, metavar="DIR",
                        help=f"the agent's state directory ({DEFAULT_STATE_DIR})")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    store = StateStore(Path(args.state_dir))
    existed = store.rules_path.exists()
    store.erase()
    if args.json:
        output.emit_json({"erased": existed, "path": str(store.rules_path)})
    elif existed:
        output.emit(f"Saved rules erased: {store.rules_path}")
    else:
        output.emit(f"No saved rules in {args.state_dir}")
    return output.OK
