"""``mape doctor``: run ordered checks on a live CE and name the cause in plain words."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from mapekit.agent.config import (
    DEFAULT_HGW_URL,
    DEFAULT_PATH,
    AgentConfig,
    load_config,
)
from mapekit.agent.control import ask_agent
from mapekit.cli import output
from mapekit.core.errors import MapeError
from mapekit.core.files import load_json_file
from mapekit.core.messages import say
from mapekit.core.tables import builtin_rules, load_rule_file
from mapekit.diag.checks import cause, diagnose
from mapekit.diag.model import Facts, Finding, Severity
from mapekit.diag.softwire import softwire_from_status
from mapekit.lab.netns import exec_interactive
from mapekit.lab.network import node_agent


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"agent TOML ({DEFAULT_PATH}); without one, what can be seen",
    )
    parser.add_argument("--node", metavar="NODE", help="diagnose a node of the running lab")
    parser.add_argument(
        "--lab-dir",
        default="/run/mapekit-lab",
        metavar="DIR",
        help="the running lab (mape lab up --dir)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def in_lab(args: argparse.Namespace) -> int:
    """Run the doctor inside a node of the lab that ``mape lab up`` left running."""
    try:
        state = load_json_file(Path(args.lab_dir) / "state.json", what="node", max_bytes=1 << 20)
        if not isinstance(state, dict) or not isinstance(state.get("nodes"), list):
            raise MapeError("status.unavailable", "not a lab's state", field="node")
    except (FileNotFoundError, MapeError):
        raise MapeError(
            "status.unavailable", f"node: no running lab in {args.lab_dir}", field="node"
        ) from None
    if args.node not in state["nodes"]:
        raise MapeError(
            "usage.invalid_arguments", f"node: one of {', '.join(state['nodes'])}", field="node"
        )
    own, ce = (
        node_agent(Path(state["work"]), args.node)[0],
        node_agent(Path(state["work"]), "ce")[0],
    )
    config = args.config or str(own if own.exists() else ce)  # an HGW without MAP-E: the CE's
    command = [sys.executable, "-m", "mapekit", "doctor", "--config", config, "--lang", args.lang]
    return exec_interactive(
        state["prefix"], args.node, [*command, *(["--json"] if args.json else [])]
    )


def run(args: argparse.Namespace) -> int:
    if args.node is not None:
        return in_lab(args)
    path = args.config or DEFAULT_PATH
    if args.config is None and not Path(path).exists():
        facts = unconfigured(path)
    else:
        facts = configured(load_config(path))
    findings = diagnose(facts)
    named = cause(findings)
    problems = any(f.severity is Severity.ERROR for f in findings)
    if args.json:
        output.emit_json(
            {
                "configured": facts.configured,
                "findings": [f.to_dict(args.lang) for f in findings],
                "cause": None if named is None else named.to_dict(args.lang),
                "mapping": None if facts.mapping is None else facts.mapping.to_dict(),
                "fallback": None if facts.fallback is None else facts.fallback.to_dict(),
                "softwire": None if facts.softwire is None else facts.softwire.to_dict(),
            }
        )
    else:
        output.emit(render(findings, named, args.lang))
    if not problems:
        return output.OK
    return output.exit_code(MapeError("doctor.problems", "problems found").reason.category)


def configured(config: AgentConfig) -> Facts:
    """The facts of a CE set up with ``config``."""
    from mapekit.agent.prefix import current_prefix, source_in_prefix
    from mapekit.agent.providers import hgw_url, provider_config
    from mapekit.diag.gather import gather

    prefix, source = current_prefix(config, set())
    rules_file = config.rules_file
    fallback = load_rule_file(rules_file) if rules_file else builtin_rules()
    facts = gather(
        wan=config.wan,
        prefix=prefix,
        prefix_source=source,
        provider=provider_config(config),
        hgw_url=hgw_url(config),
        tunnel=config.tunnel,
        fallback=fallback,
        fallback_source=f"rule file {rules_file}" if rules_file else "built-in operator table",
        source_address=source_in_prefix(prefix, [config.lan, config.wan]) if prefix else None,
    )
    facts.provider = config.provider
    ports = config.ports
    facts.port_caps = bool(ports.cap_per_destination or ports.cap_per_host or ports.cap_overrides)
    running = ask_agent(config.state.socket, "status") or {}
    counters = running.get("counters")
    if isinstance(counters, dict):
        facts.counters = {str(k): int(v) for k, v in counters.items()}
    facts.applied_softwire = softwire_from_status(running.get("softwire"))
    update = running.get("update")
    facts.update = update if isinstance(update, dict) else None
    return facts


def unconfigured(path: str) -> Facts:
    """What can be seen without a configuration: the detected WAN and prefix, the HGW, the
    built-in table's mapping, the WAN's MTU."""
    from mapekit.agent.detect import DEFAULT_PD_FILE, detect_prefix, detect_wan
    from mapekit.diag.gather import gather

    wan = detect_wan()
    prefix, source = detect_prefix(wan, DEFAULT_PD_FILE)
    facts = gather(
        wan=wan, prefix=prefix, prefix_source=source, provider=None, hgw_url=DEFAULT_HGW_URL,
        tunnel="mape0", fallback=None, fallback_source="built-in operator table",
    )  # fmt: skip
    facts.configured, facts.config_path, facts.provider = False, path, None
    if prefix is not None:
        with contextlib.suppress(MapeError):
            facts.fallback = builtin_rules().map(*prefix)
    return facts


def render(findings: list[Finding], named: Finding | None, lang: str) -> str:
    rows = [[f"[{say(f'doctor.mark.{f.severity.value}', lang)}]", f.code, f.evidence_in(lang)]
            for f in findings]  # fmt: skip
    lines = [output.table(rows)]
    if named is not None:
        lines += ["", say("doctor.cause", lang) + named.explanation.get(lang)]
        if named.fix is not None:
            lines.append(say("doctor.fix", lang) + named.fix.get(lang))
    else:
        lines += ["", say("doctor.nothing", lang)]
    return "\n".join(lines)
