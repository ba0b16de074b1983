"""``mape agent --config FILE``: run the CE daemon in the foreground until SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
from types import FrameType

from mapekit.agent.config import load_config
from mapekit.agent.daemon import Agent
from mapekit.cli import output


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="FILE", help="agent TOML file")
    parser.add_argument("--check", action="store_true", help="validate the config and exit")
    parser.add_argument("--json", action="store_true", help="print one JSON line at start")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.check:
        output.emit(f"{args.config}: valid ({config.provider}, WAN {config.wan})")
        return output.OK
    agent = Agent(config)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        agent.events.put("stop")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    start: dict[str, object] = {
        "agent": config.provider,
        "wan": config.wan,
        "socket": config.socket,
        "backend": agent.backend,
    }
    output.emit(json.dumps(start) if args.json else " ".join(f"{k}={v}" for k, v in start.items()))
    agent.run()
    return output.OK
