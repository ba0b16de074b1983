"""``mape setup``: from a fresh install to a working configuration in one command.

It looks at the router (WAN and LAN, how the delegated prefix arrives, the prefix, the home
gateway, an HB46PP record, RFC 7598 options), chooses how rules arrive and says why, and
writes the agent's configuration, the DHCPv6 client's part and the systemd unit. Nothing
is written without ``--yes`` or a yes at the prompt; ``--dry-run`` shows every file. A
second run with the same answers changes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import stat
import sys
from dataclasses import replace
from pathlib import Path

from mapekit.agent.config import PROVIDERS, parse_config
from mapekit.agent.detect import DEFAULT_HGW, Detected, detect, prefix_text
from mapekit.agent.proposal import NeedsAnswer, Proposal, Seen, Wishes, propose
from mapekit.agent.setup_files import (
    UNIT_NAME,
    Layout,
    PlannedFile,
    Setting,
    planned_files,
)
from mapekit.cli import output
from mapekit.cli.output import UsageError
from mapekit.client.state import write_atomically
from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.errors import MapeError
from mapekit.core.ruleset import RuleSet
from mapekit.core.tables import builtin_rules, load_rule_file
from mapekit.dataplane.plan import check_ifname

HOOK = Path(__file__).resolve().parents[1] / "agent" / "data" / "dhcpcd-hook"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wan", metavar="IFACE", help="the WAN interface (default: detected)")
    parser.add_argument("--lan", metavar="IFACE", help="the LAN interface (default: detected)")
    parser.add_argument("--provider", choices=PROVIDERS, help="how rules arrive (default: chosen)")
    parser.add_argument("--url", metavar="URL", help="the rule API's URL (jpne, ocn, hb46pp)")
    parser.add_argument("--vendor-code", metavar="HEX", help="your router maker's code (jpne, ocn)")
    parser.add_argument(
        "--rules", metavar="FILE", help="a rule file instead of the built-in tables"
    )
    parser.add_argument(
        "--prefix", metavar="PREFIX", help="the End-user prefix (default: detected)"
    )
    parser.add_argument("--aftr", metavar="NAME", help="dslite: the AFTR's name or address")
    parser.add_argument("--remote", metavar="ADDR", help="ipip: the operator's tunnel endpoint")
    parser.add_argument("--ipv4", metavar="ADDR", help="ipip: the fixed IPv4 address or prefix")
    parser.add_argument("--interface-id", metavar="ID", help="ipip: the CE's interface id")
    parser.add_argument("--update-url", metavar="URL", help="ipip: the operator's update URL")
    parser.add_argument("--update-user", metavar="NAME",
                        help="ipip: its user (update_password: in the file, by hand)")  # fmt: skip
    parser.add_argument("--no-hgw-check", action="store_true", help="do not look for an NTT HGW")
    parser.add_argument("--root", default="/", metavar="DIR",
                        help="write every file under DIR (paths inside them too)")  # fmt: skip
    parser.add_argument(
        "--exec", metavar="PATH", help="the mape program the unit runs (default: this one)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would be written, write nothing"
    )
    parser.add_argument("--yes", action="store_true", help="write without asking")
    parser.add_argument(
        "--lang", choices=("en", "ja"), default="en", help="language of the explanation"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def exec_start(given: str | None) -> list[str]:
    """The command the unit runs: ``--exec``, the ``mape`` next to this Python (a venv or
    pipx install; Debian's system Python is externally managed), else this Python."""
    if given:
        return [given]
    beside = Path(sys.executable).parent / "mape"
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "mapekit"]


def _table(args: argparse.Namespace) -> tuple[RuleSet, str]:
    if args.rules:
        return load_rule_file(args.rules), f"rule file {args.rules}"
    return builtin_rules(), "built-in operator table"


def _decide(args: argparse.Namespace, found: Detected, table: RuleSet, name: str) -> Proposal:
    prefix = parse_end_user_prefix(args.prefix, "prefix") if args.prefix else found.prefix
    seen = Seen(prefix, found.prefix_source, found.delivery, found.hgw, found.hb46pp_url,
                found.s46_options, found.aftr)  # fmt: skip
    rules = str(Path(args.rules).resolve()) if args.rules else None
    wishes = Wishes(args.provider, args.url, args.vendor_code, rules, args.aftr, args.remote,
                    args.ipv4, args.interface_id, args.update_url, args.update_user)  # fmt: skip
    try:
        return propose(seen, wishes, table, name)
    except NeedsAnswer as exc:
        choice = _ask_provider(exc)
        return propose(seen, replace(wishes, provider=choice), table, name)


def _ask_provider(exc: MapeError) -> str:
    if not sys.stdin.isatty():
        raise exc
    output.emit(exc.message)
    answer = input(f"provider ({', '.join(PROVIDERS)}): ").strip()
    if answer not in PROVIDERS:
        raise exc
    return answer


def _status(file: PlannedFile, config: bool = False) -> str:
    """new, changed or unchanged; the agent's configuration is unchanged when it says the
    same (its comments explain what was seen, which may differ from one run to the next)."""
    path = Path(file.path)
    try:
        info = path.lstat()
    except FileNotFoundError:
        return "new"
    if not stat.S_ISREG(info.st_mode):
        raise MapeError("setup.refused", f"{path}: exists and is not a regular file",
                        field="root")  # fmt: skip
    text = path.read_text(errors="replace")
    if text == file.text:
        return "unchanged"
    if config:
        with contextlib.suppress(MapeError):
            if parse_config(text, file.path) == parse_config(file.text, file.path):
                return "unchanged"
    return "changed"


def run(args: argparse.Namespace) -> int:
    for name in ("wan", "lan"):
        if getattr(args, name):
            check_ifname(getattr(args, name), name)
    layout = Layout(str(Path(args.root).resolve()))
    found = detect(args.wan, args.lan, pd_file=layout.path("/run/mapekit/pd"),
                   s46_file=layout.path("/run/mapekit/s46.hex"),
                   hgw_url=None if args.no_hgw_check else DEFAULT_HGW,
                   aftr_file=layout.path("/run/mapekit/aftr"))  # fmt: skip
    if found.wan is None:
        raise UsageError("usage.invalid_arguments",
                         "wan: cannot tell which interface is the WAN; give --wan IFACE",
                         field="wan")  # fmt: skip
    table, table_name = _table(args)
    proposal = _decide(args, found, table, table_name)
    setting = Setting(found.wan, found.lan, found.delivery, proposal, not args.no_hgw_check)
    dhcpcd_conf = Path(layout.path("/etc/dhcpcd.conf"))
    existing = dhcpcd_conf.read_text() if dhcpcd_conf.is_file() else ""
    files = planned_files(setting, layout, exec_start=exec_start(args.exec),
                          hook=HOOK.read_text(), existing_dhcpcd=existing,
                          networkd_files=found.networkd_files)  # fmt: skip
    parse_config(files[0].text, files[0].path)  # what setup writes is always a valid config
    states = [(f, _status(f, config=f is files[0])) for f in files]
    changes = [f for f, s in states if s != "unchanged"]
    write = bool(changes) and not args.dry_run and _confirmed(args, changes)
    if write:
        for file in changes:
            Path(file.path).parent.mkdir(parents=True, exist_ok=True)
            write_atomically(Path(file.path), file.text.encode(), mode=file.mode)
    report(args, found, proposal, states=states, written=write, layout=layout)
    return output.OK


def _confirmed(args: argparse.Namespace, changes: list[PlannedFile]) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty() or args.json:
        raise MapeError("setup.refused", f"{len(changes)} file(s) to write: add --yes to write "
                        "them (or --dry-run to see them)", field="yes")  # fmt: skip
    return input("Write these files? [y/N] ").strip().lower() in ("y", "yes")


def report(
    args: argparse.Namespace, found: Detected, proposal: Proposal, *,
    states: list[tuple[PlannedFile, str]], written: bool, layout: Layout,
) -> None:  # fmt: skip
    ja = args.lang == "ja"
    steps = _next_steps(found, written, layout)
    if args.json:
        output.emit_json({
            "detected": {"wan": found.wan, "lan": found.lan, "delivery": found.delivery,
                         "prefix": None if found.prefix is None else prefix_text(found.prefix),
                         "prefix_seen": found.prefix_source, "hgw": found.hgw,
                         "hb46pp_url": found.hb46pp_url, "s46_options": found.s46_options},
            "provider": proposal.provider, "prefix_source": proposal.prefix_source,
            "operator": proposal.operator,
            "mapping": proposal.mapping.to_dict() if proposal.mapping else None,
            "reasons": [r.ja if ja else r.en for r in proposal.reasons],
            "files": [{"path": f.path, "status": s} for f, s in states],
            "written": written, "next": steps,
        })  # fmt: skip
        return
    rows = [["WAN", found.wan or "-"], ["LAN", found.lan or "-"],
            ["Prefix", f"{prefix_text(found.prefix)} ({found.prefix_source})"],
            ["Prefix arrives by", found.delivery], ["HGW", f"{found.hgw} ({found.hgw_how})"],
            ["HB46PP record", found.hb46pp_url or "none"],
            ["Provider", proposal.provider], ["Prefix source", proposal.prefix_source]]  # fmt: skip
    if proposal.mapping is not None:
        m = proposal.mapping
        rows.append(["Mapping", f"{m.ipv4_text} PSID {m.psid}, {m.port_set.count} ports, "
                                f"BR {m.rule.br}"])  # fmt: skip
    output.emit(("検出結果と選択" if ja else "What was found and chosen") + "\n"
                + output.table(rows, indent="  "))  # fmt: skip
    output.emit("\n" + ("理由:" if ja else "Why:"))
    for reason in proposal.reasons:
        output.emit(f"  - {reason.ja if ja else reason.en}")
    output.emit("\n" + ("ファイル:" if ja else "Files:"))
    for file, status in states:
        output.emit(f"  {status:9} {file.path}")
        if args.dry_run and status != "unchanged":
            output.emit("".join(f"    | {line}\n" for line in file.text.splitlines()).rstrip())
    if written or not any(s != "unchanged" for _, s in states):
        output.emit("\n" + ("次に:" if ja else "Next:"))
        for step in steps:
            output.emit(f"  {step}")


def _next_steps(found: Detected, written: bool, layout: Layout) -> list[str]:
    steps = []
    if layout.root not in ("", "/"):
        return [f"files under {layout.root}: nothing to enable on this system"]
    if found.delivery == "dhcpcd":
        steps.append("systemctl restart dhcpcd   # or: dhcpcd --rebind " + (found.wan or ""))
    elif found.delivery == "networkd":
        steps.append("networkctl reload")
    steps += ["systemctl daemon-reload", f"systemctl enable --now {UNIT_NAME}",
              "mape status   # then: journalctl -u mapekit-agent"]  # fmt: skip
    del written
    if os.geteuid() != 0:
        steps.insert(0, "(as root)")
    return steps
