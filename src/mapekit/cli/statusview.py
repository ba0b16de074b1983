"""Human rendering of CE status and event logs (``mape provision``, ``mape status``)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from mapekit.agent.pagetext import TEXT
from mapekit.cli import output
from mapekit.provision.events import LogEntry


def _when(stamp: object) -> str:
    if not isinstance(stamp, int | float):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def render_events(entries: Iterable[LogEntry], lang: str = "en", offset: float = 0.0) -> str:
    """Event lines; ``offset`` turns the machine's monotonic stamps into wall time."""
    return "\n".join(
        f"{time.strftime('%H:%M:%S', time.localtime(e.time + offset))} {e.code} {e.message(lang)}"
        for e in entries
    )


def render_event_dicts(entries: Iterable[Mapping[str, object]]) -> str:
    return "\n".join(
        f"{_when(e.get('time'))[11:]} {e.get('code')} {e.get('message')}" for e in entries
    )


def render_status(doc: Mapping[str, object], lang: str = "en") -> str:
    """A status table like a carrier-grade router's ``show map-e status``."""
    rows = [["Agent", str(doc["agent"])]] if doc.get("agent") else []
    rows += [
        ["Provider", str(doc.get("provider"))],
        ["Status", str(doc.get("state"))],
        ["Outcome", str(doc.get("outcome") or "-")],
        ["HGW", str(doc.get("hgw") or "-")],
        ["Last request", _when(doc.get("last_request"))],
        ["Last update", _when(doc.get("last_update"))],
        [
            "Requests",
            f"{doc.get('requests')} (success {doc.get('successes')}, "
            f"failure {doc.get('failures')})",
        ],
        ["Saved rules", str(doc.get("rules"))],
    ]
    mapping = doc.get("mapping")
    if isinstance(mapping, Mapping):
        rule = mapping.get("rule")
        if isinstance(rule, Mapping):
            rows.append(
                [
                    "BMR",
                    f"{rule.get('ipv6_prefix')} → {rule.get('ipv4_prefix')}, "
                    f"EA {rule.get('ea_len')}, offset {rule.get('psid_offset')}",
                ]
            )
        rows += [
            ["IPv4 address", str(mapping.get("ipv4"))],
            ["PSID", f"{mapping.get('psid')} ({mapping.get('psid_len')} bits)"],
            ["Ports", f"{mapping.get('port_count')}"],
            ["CE IPv6 address", f"{mapping.get('ce_ipv6')} ({mapping.get('iid')} IID)"],
            ["BR", str(mapping.get("br"))],
        ]
    softwire = doc.get("softwire")
    if isinstance(softwire, Mapping):
        rows += softwire_rows(softwire, doc.get("update"), lang)
    rows += _dataplane_rows(doc)
    rows += _port_use_rows(doc.get("port_use"))
    in_s = doc.get("next_attempt_in")
    rows.append(
        ["Next attempt", "-" if in_s is None else f"{_when(doc.get('next_attempt'))} (in {in_s} s)"]
    )
    error = doc.get("last_error")
    if isinstance(error, Mapping):
        rows.append(["Last error", f"{error.get('message')} [{error.get('reason_code')}]"])
        rows.append(["Explanation", str(error.get("explanation"))])
    notes = doc.get("notes")
    if isinstance(notes, list):
        rows += [["Note", str(n)] for n in notes]
    title = "MAP-E status" if lang == "en" else "MAP-E 状態"
    if isinstance(softwire, Mapping) and softwire.get("mechanism") in ("dslite", "ipip"):
        title = TEXT[lang][f"title:{softwire['mechanism']}"]
    return title + "\n" + output.table(rows, indent="  ")


def softwire_rows(
    softwire: Mapping[str, object], update: object, lang: str = "en"
) -> list[list[str]]:
    """A DS-Lite or IPIP tunnel: mechanism, the AFTR or endpoint, the CE's end, the IPv4
    side, and (IPIP) the last update call — nothing secret is in the status to show."""
    t = TEXT["en" if lang != "ja" else "ja"]
    dslite = softwire.get("mechanism") == "dslite"
    remote, name = softwire.get("remote"), softwire.get("remote_name")
    ipv4 = f"{softwire.get('ipv4')}/{softwire.get('ipv4_prefix_len')}"
    rows = [
        [t["mechanism"], t["mechanism:dslite" if dslite else "mechanism:ipip"]],
        [t["aftr" if dslite else "endpoint"], f"{name} ({remote})" if name else str(remote)],
        [t["b4_address" if dslite else "tunnel_address"], str(softwire.get("local"))],
    ]
    if dslite:
        rows.append([t["tunnel_ipv4"], f"{ipv4} ({t['no_nat']})"])
    else:
        how = t["nat_to" if softwire.get("nat") else "routed"]
        rows.append([t["fixed_ipv4"], f"{ipv4.removesuffix('/32')} ({how})"])
        rows.append([t["update_call"], _update_text(update, t)])
    return rows


def _update_text(update: object, t: Mapping[str, str]) -> str:
    if not isinstance(update, Mapping):
        return t["update_none"]
    attempts = update.get("attempts")
    tries = f", {attempts} {t['attempts']}" if isinstance(attempts, int) and attempts > 1 else ""
    return f"{_when(update.get('time'))} {update.get('answer')}{tries}"


def _dataplane_rows(doc: Mapping[str, object]) -> list[list[str]]:
    rows = []
    if doc.get("prefix_source"):
        rows.append(["Prefix from", str(doc["prefix_source"])])
    plan = doc.get("plan")
    if doc.get("backend"):
        tunnel = plan.get("tunnel") if isinstance(plan, Mapping) else None
        name = tunnel.get("name") if isinstance(tunnel, Mapping) else None
        rows.append(["Data plane", f"{doc['backend']}" + (f", tunnel {name}" if name else "")])
    if doc.get("repairs"):
        rows.append(["Repairs", f"{doc['repairs']} (something removed what the agent applied)"])
    return rows


def _port_use_rows(use: object) -> list[list[str]]:
    if not isinstance(use, Mapping):
        return []
    per_protocol = use.get("ports_in_use") or {}
    count = use.get("port_count")
    rows = [
        ["Ports in use",
         ", ".join(f"{k} {v}" for k, v in dict(per_protocol).items())
         + f" of {count} ({use.get('flows')} flows)"],
        ["NAT failures", f"{use.get('insert_failed')} + {use.get('drop')} (insert_failed + drop)"],
    ]  # fmt: skip
    busiest = use.get("busiest") or []
    if isinstance(busiest, list) and busiest:
        top = busiest[0]
        hosts = top.get("hosts") or {}
        holder = max(hosts, key=lambda h: hosts[h]) if hosts else "-"
        rows.append(["Busiest destination",
                     f"{top.get('proto')} {top.get('address')}:{top.get('port')}: "
                     f"{top.get('flows')} flows ({float(top.get('share') or 0):.0%} of the set), "
                     f"most from {holder}"])  # fmt: skip
    hosts = use.get("per_host") or {}
    if isinstance(hosts, Mapping) and hosts:
        rows.append(["Busiest hosts", ", ".join(
            f"{h} {n.get('flows')}" for h, n in list(hosts.items())[:3])])  # fmt: skip
    return rows
