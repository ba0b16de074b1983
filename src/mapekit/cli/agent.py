"""``mape agent --config FILE``: run the CE daemon in the foreground until SIGTERM.

SIGHUP (``systemctl reload``) re-reads the configuration and applies what changed. Events
go to standard output, one line each (journald reads them under systemd).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from mapekit.agent.config import DEFAULT_PATH, load_config
from mapekit.agent.journal import Journal
from mapekit.agent.notify import Notifier
from mapekit.cli import output


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", default=DEFAULT_PATH, metavar="FILE", help=f"agent TOML file ({DEFAULT_PATH})"
    )
    parser.add_argument(
        "--check", action="store_true", help="check the configuration and exit (78 when wrong)"
    )
    parser.add_argument("--json", action="store_true", help="with --check: print one JSON object")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.check:
        doc = {"valid": True, "config": args.config, "provider": config.provider,
               "wan": config.wan, "notes": list(config.notes)}  # fmt: skip
        if args.json:
            output.emit_json(doc)
        else:
            output.emit(f"{args.config}: valid (provider {config.provider}, WAN {config.wan})")
            for note in config.notes:
                output.emit(f"note: {note}")
        return output.OK
    from mapekit.agent.daemon import Agent, Reload, Stop

    journald = bool(os.environ.get("JOURNAL_STREAM"))
    journal = Journal(sys.stdout, journald=journald, lang=args.lang)  # a ja_JP locale: Japanese
    agent = Agent(config, Path(args.config), journal=journal, notifier=Notifier.from_environ())

    def stop(signum: int, _frame: FrameType | None) -> None:
        agent.items.put(Stop(signal.Signals(signum).name))

    def reload(_signum: int, _frame: FrameType | None) -> None:
        agent.items.put(Reload())

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    agent.run()
    return output.OK
