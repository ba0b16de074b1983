"""Human rendering of CE status and event logs (``mape provision``, ``mape status``).

What a person checks at a glance, in this order: the state and why; whether the agent
runs; where the rules come from and how old they are; the prefix; the mapping (or the
DS-Lite/IPIP softwire); the data plane (backend, tunnel, repairs, traffic, drops, port
use); requests and the next attempt; the last error and notes. Every label comes from the
catalogue (``mapekit.core.messages``); colour only when asked (a terminal).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from mapekit.agent.pagetext import softwire_rows
from mapekit.agent.pagetext import title as page_title
from mapekit.cli import output
from mapekit.cli.colour import Painter
from mapekit.core.messages import MESSAGES, local_time, say
from mapekit.provision.events import MESSAGES as MESSAGES_EVENTS
from mapekit.provision.events import LogEntry

Rows = list[list[str]]


def age(seconds: float, lang: str = "en") -> str:
    """``3 h ago`` / ``3 時間前``: the unit that keeps the number small."""
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return say(f"age.{unit}", lang, n=int(seconds // size))
    return say("age.seconds", lang, n=max(0, int(seconds)))


def state_name(state: object, lang: str = "en") -> str:
    key = f"state.{state}"
    return say(key, lang) if key in MESSAGES else str(state)


def render_events(entries: Iterable[LogEntry], lang: str = "en", offset: float = 0.0) -> str:
    """Event lines; ``offset`` turns the machine's monotonic stamps into wall time."""
    return "\n".join(
        f"{time.strftime('%H:%M:%S', time.localtime(e.time + offset))} {e.code} {e.message(lang)}"
        for e in entries
    )


def render_event_dicts(entries: Iterable[Mapping[str, object]], lang: str = "en") -> str:
    """Event lines from the status object; re-worded in ``lang`` when they carry their
    values (``params``), as they do since the events became bilingual."""
    lines = []
    for e in entries:
        message, params = e.get("message"), e.get("params")
        if isinstance(params, Mapping) and str(e.get("code")) in MESSAGES_EVENTS:
            message = LogEntry(0.0, str(e.get("code")), dict(params)).message(lang)
        lines.append(f"{local_time(e.get('time'))[11:]} {e.get('code')} {message}")
    return "\n".join(lines)


def render_status(doc: Mapping[str, object], lang: str = "en", colour: bool = False) -> str:
    """A status table like a carrier-grade router's ``show map-e status``."""
    paint = Painter(colour)
    softwire = doc.get("softwire")
    title = page_title(doc, lang)
    rows = _head_rows(doc, lang, paint) + _rules_rows(doc, lang)
    rows += _mapping_rows(doc.get("mapping"), lang) + _softwire_rows(softwire, doc, lang)
    rows += _dataplane_rows(doc, lang) + _port_use_rows(doc.get("port_use"), lang)
    rows += _tail_rows(doc, lang, paint)
    return paint.bold(title) + "\n" + output.table(rows, indent="  ")


def _head_rows(doc: Mapping[str, object], lang: str, paint: Painter) -> Rows:
    state = doc.get("state")
    shown = state_name(state, lang)
    shown = paint.green(shown) if state == "established" else paint.yellow(shown)
    rows = [[say("status.state", lang), shown]]
    why = doc.get("explanation")
    if why:
        rows.append([say("status.why", lang), str(why)])
    outcome = doc.get("outcome")
    if outcome and outcome != state:
        rows.append([say("status.outcome", lang), str(outcome)])
    agent = _agent_line(doc, lang)
    if agent:
        rows.append([say("status.agent", lang), agent])
    return rows


def _agent_line(doc: Mapping[str, object], lang: str) -> str | None:
    started, stopped = doc.get("started_at"), doc.get("stopped_at")
    if doc.get("running") is True:
        return say("status.running", lang, since=local_time(started))
    if doc.get("running") is not False:
        return None  # `mape provision`: no agent involved
    if isinstance(stopped, int | float):
        return say("status.ran", lang, start=local_time(started), stop=local_time(stopped))
    if isinstance(started, int | float):
        return say("status.crashed", lang, start=local_time(started))
    return say("status.not_running", lang)


def _rules_rows(doc: Mapping[str, object], lang: str) -> Rows:
    count, updated = doc.get("rules"), doc.get("last_update")
    if isinstance(updated, int | float):
        when = age(time.time() - updated, lang)
        rules = say("status.rules_line", lang, count=count, when=local_time(updated), age=when)
    else:
        rules = say("status.rules_never", lang, count=count)
    hgw = doc.get("hgw")
    hgw_key = f"hgw.{hgw}" if f"hgw.{hgw}" in MESSAGES else "hgw.unknown"
    rows = [[say("status.provider", lang), str(doc.get("provider") or "-")]]
    if count is not None:  # a softwire's status has no rule set
        rows.append([say("status.rules", lang), rules])
    rows.append([say("status.hgw", lang), say(hgw_key, lang)])
    prefix = _prefix(doc)
    source = doc.get("prefix_source")
    if prefix or source:
        where = say("status.prefix_source", lang, source=source) if source else ""
        rows.append([say("status.prefix", lang), " ".join(p for p in (prefix, where) if p)])
    return rows


def _prefix(doc: Mapping[str, object]) -> str:
    mapping = doc.get("mapping")
    if isinstance(mapping, Mapping) and mapping.get("end_user_prefix"):
        return str(mapping["end_user_prefix"])
    return str(doc["prefix"]) if doc.get("prefix") else ""


def _mapping_rows(mapping: object, lang: str) -> Rows:
    if not isinstance(mapping, Mapping):
        return []
    rows = []
    rule = mapping.get("rule")
    if isinstance(rule, Mapping):
        rows.append(
            [
                say("status.bmr", lang),
                f"{rule.get('ipv6_prefix')} → "
                f"{rule.get('ipv4_prefix')}, EA {rule.get('ea_len')}, "
                f"offset {rule.get('psid_offset')}",
            ]
        )
    line = say(
        "status.ipv4_line",
        lang,
        ipv4=mapping.get("ipv4"),
        psid=mapping.get("psid"),
        bits=mapping.get("psid_len"),
        ports=mapping.get("port_count"),
    )
    return [
        *rows,
        [say("status.ipv4", lang), line],
        [say("status.ce_ipv6", lang), f"{mapping.get('ce_ipv6')} ({mapping.get('iid')} IID)"],
        [say("status.br", lang), str(mapping.get("br"))],
    ]


def _softwire_rows(softwire: object, doc: Mapping[str, object], lang: str) -> Rows:
    if not isinstance(softwire, Mapping):
        return []
    return softwire_rows(softwire, doc.get("update"), lang)


def _dataplane_rows(doc: Mapping[str, object], lang: str) -> Rows:
    rows = []
    plan = doc.get("plan")
    if doc.get("backend"):
        tunnel = plan.get("tunnel") if isinstance(plan, Mapping) else None
        name = tunnel.get("name") if isinstance(tunnel, Mapping) else "-"
        line = say("status.backend_line", lang, backend=doc["backend"], tunnel=name)
        rows.append([say("status.dataplane", lang), line])
    if doc.get("repairs"):
        rows.append(
            [say("status.repairs", lang), say("status.repairs_line", lang, count=doc["repairs"])]
        )
    counters = doc.get("counters")
    if isinstance(counters, Mapping) and counters:
        rows += _counter_rows(counters, lang)
    return rows


def _size(count: object) -> str:
    value = float(count) if isinstance(count, int | float) else 0.0
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _counter_rows(counters: Mapping[str, object], lang: str) -> Rows:
    line = say(
        "status.traffic_line",
        lang,
        out_packets=counters.get("out", 0),
        out_bytes=_size(counters.get("out_bytes")),
        in_packets=counters.get("in", 0),
        in_bytes=_size(counters.get("in_bytes")),
    )
    rows = [[say("status.traffic", lang), line]]
    drops = {k: v for k, v in counters.items() if "_drop_" in k and v}
    if drops:
        rows.append([say("status.drops", lang), ", ".join(f"{k} {v}" for k, v in drops.items())])
    return rows


def _port_use_rows(use: object, lang: str) -> Rows:
    if not isinstance(use, Mapping):
        return []
    per_protocol = dict(use.get("ports_in_use") or {})
    used = ", ".join(f"{k} {v}" for k, v in per_protocol.items()) or "0"
    rows = [
        [
            say("status.ports_in_use", lang),
            say(
                "status.ports_line",
                lang,
                used=used,
                count=use.get("port_count"),
                flows=use.get("flows"),
            ),
        ],
        [
            say("status.nat_failures", lang),
            f"{use.get('insert_failed')} + {use.get('drop')} (insert_failed + drop)",
        ],
    ]
    busiest = use.get("busiest") or []
    if isinstance(busiest, list) and busiest:
        top = busiest[0]
        hosts = top.get("hosts") or {}
        holder = max(hosts, key=lambda h: hosts[h]) if hosts else "-"
        where = f"{top.get('proto')} {top.get('address')}:{top.get('port')}"
        share = f"{float(top.get('share') or 0):.0%}"
        rows.append(
            [
                say("status.busiest", lang),
                say(
                    "status.busiest_line",
                    lang,
                    where=where,
                    flows=top.get("flows"),
                    share=share,
                    host=holder,
                ),
            ]
        )
    return rows


def _tail_rows(doc: Mapping[str, object], lang: str, paint: Painter) -> Rows:
    rows: Rows = []
    if doc.get("requests") is not None:
        rows.append(
            [
                say("status.requests", lang),
                say(
                    "status.requests_line",
                    lang,
                    requests=doc.get("requests"),
                    successes=doc.get("successes"),
                    failures=doc.get("failures"),
                    when=local_time(doc.get("last_request")),
                ),
            ]
        )
    in_s = doc.get("next_attempt_in")
    if in_s is not None:
        rows.append(
            [
                say("status.next", lang),
                say(
                    "status.next_line", lang, when=local_time(doc.get("next_attempt")), seconds=in_s
                ),
            ]
        )
    error = doc.get("last_error")
    if isinstance(error, Mapping):
        text = f"{error.get('message')} [{error.get('reason_code')}]"
        rows.append([say("status.last_error", lang), paint.red(text)])
    notes = doc.get("notes")
    if isinstance(notes, list):
        rows += [[say("status.note", lang), str(n)] for n in notes]
    return rows
