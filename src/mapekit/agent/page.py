"""The status page, rendered on the server from the agent's status (pure: a status object
in, HTML out). Every value is escaped; the only script is ``page.js`` (served beside it),
which reloads the main part every two seconds.

What a person checks: the state and why, the mapping, where the rules came from and when,
the tunnel and data plane, the last events, and the port set — every port a cell showing
how many flows use it and which hosts (a port serves several flows when their destinations
differ), the busiest destinations with how close each is to exhausting the set, and the
flows per host.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from mapekit.agent.pagetext import TEXT, softwire_rows
from mapekit.agent.pagetext import title as page_title
from mapekit.core.messages import local_time

SCRIPT = """\
"use strict";
(function () {
  const main = document.querySelector("main");
  const url = new URL(window.location.href);
  url.searchParams.set("part", "main");
  async function refresh() {
    try {
      const response = await fetch(url, { cache: "no-store" });
      if (response.ok) { main.innerHTML = await response.text(); }
    } catch (error) { /* the agent restarting: try again next time */ }
  }
  window.setInterval(refresh, 2000);
}());
"""

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}
table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:left;vertical-align:top}
th{color:#555;font-weight:600}.state-established{color:#14733b}.state-other{color:#a33}
#cells{display:flex;flex-wrap:wrap;gap:.5rem 1rem}.blk{display:block}
.grid{display:grid;gap:2px}.c1{grid-template-columns:repeat(1,2.4rem)}
.c2{grid-template-columns:repeat(2,2.4rem)}.c4{grid-template-columns:repeat(4,2.4rem)}
.c8{grid-template-columns:repeat(8,2.4rem)}.c16{grid-template-columns:repeat(16,2.4rem)}
.cell{height:1.6rem;border:1px solid #ddd;font-size:.7rem;text-align:center;line-height:1.6rem}
.f0{background:#fafafa;color:#bbb}.f1{background:#d6ecff}.f2{background:#8cc4f5}
.f3{background:#2f7fc8;color:#fff}.block{font-size:.75rem;color:#666;margin-top:.4rem}
.bar{display:inline-block;height:.7rem;background:#e66;vertical-align:middle}
.events td{font-family:monospace;font-size:.8rem}
"""


def _e(value: object) -> str:
    return html.escape("-" if value is None else str(value), quote=True)


def _rows(rows: list[tuple[str, object]]) -> str:
    return (
        "<table>"
        + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
        + "</table>"
    )


def _summary(doc: Mapping[str, Any], t: Mapping[str, str]) -> str:
    state = doc.get("state")
    css = "state-established" if state == "established" else "state-other"
    error = doc.get("last_error") or {}
    why = error.get("explanation") if isinstance(error, dict) else None
    rows: list[tuple[str, object]] = [
        (t["provider"], doc.get("provider")),
        *(
            []
            if doc.get("softwire")
            else [
                (t["rules_from"], f"{doc.get('provider')}, {local_time(doc.get('last_update'))}"),
            ]
        ),
        (t["hgw"], doc.get("hgw")),
        (t["prefix_source"], doc.get("prefix_source")),
        (t["backend"], doc.get("backend")),
        (t["repairs"], doc.get("repairs")),
        (t["next_attempt"], local_time(doc.get("next_attempt"))),
    ]
    head = (f'<p id="state" class="{css}"><strong>{_e(t.get("state:" + str(state), state))}'
            f"</strong>{' — ' + _e(why) if why else ''}</p>")  # fmt: skip
    return head + _rows(rows)


def _mapping(doc: Mapping[str, Any], t: Mapping[str, str]) -> str:
    m = doc.get("mapping")
    if not isinstance(m, dict):
        return f"<p>{_e(t['no_mapping'])}</p>"
    plan = doc.get("plan") or {}
    tunnel = plan.get("tunnel") or {} if isinstance(plan, dict) else {}
    rows: list[tuple[str, object]] = [
        (t["ipv4"], m.get("ipv4")), ("PSID", f"{m.get('psid')} ({m.get('psid_len')} bits)"),
        (t["ports"], m.get("port_count")), (t["ce_ipv6"], m.get("ce_ipv6")),
        ("BR", m.get("br")), (t["tunnel"], f"{tunnel.get('name')}, MTU {tunnel.get('mtu')}"),
    ]  # fmt: skip
    return f'<div id="mapping">{_rows(rows)}</div>'


def _cells(use: Mapping[str, Any], ranges: list[list[int]]) -> str:
    per_port: dict[str, dict[str, int]] = use.get("per_port") or {}
    blocks = []
    for first, last in ranges:
        cells = []
        for port in range(first, last + 1):
            hosts = per_port.get(str(port), {})
            flows = sum(hosts.values())
            level = 0 if flows == 0 else 1 if flows == 1 else 2 if flows < 4 else 3
            title = ", ".join(f"{h}: {n}" for h, n in hosts.items()) or "free"
            cells.append(f'<div class="cell f{level}" data-port="{port}" data-flows="{flows}" '
                         f'title="{_e(port)} — {_e(title)}">{flows or ""}</div>')  # fmt: skip
        columns = min(16, 1 << max(0, (last - first).bit_length()))  # blocks are 2^m ports
        blocks.append(f'<div class="blk"><div class="block">{first}–{last}</div>'
                      f'<div class="grid c{columns}">{"".join(cells)}</div></div>')  # fmt: skip
    return "".join(blocks)


def _destinations(use: Mapping[str, Any], t: Mapping[str, str]) -> str:
    rows = [f"<tr><th>{_e(t['destination'])}</th><th>{_e(t['flows'])}</th>"
            f"<th>{_e(t['of_set'])}</th><th>{_e(t['hosts'])}</th></tr>"]  # fmt: skip
    for d in use.get("busiest") or []:
        share = float(d.get("share") or 0)
        hosts = ", ".join(f"{h} {n}" for h, n in (d.get("hosts") or {}).items())
        rows.append(
            f"<tr><td>{_e(d.get('proto'))} {_e(d.get('address'))}:{_e(d.get('port'))}</td>"
            f'<td>{_e(d.get("flows"))}</td><td><span class="bar" style="width:'
            f'{min(100, round(share * 100))}px"></span> {share:.0%}</td><td>{_e(hosts)}</td></tr>'
        )
    hosts_rows = "".join(
        f"<tr><td>{_e(h)}</td><td>{_e(n.get('flows'))}</td><td>{_e(n.get('ports'))}</td></tr>"
        for h, n in (use.get("per_host") or {}).items()
    )
    return (f'<table id="destinations">{"".join(rows)}</table><h2>{_e(t["per_host"])}</h2>'
            f'<table id="hosts"><tr><th>{_e(t["host"])}</th><th>{_e(t["flows"])}</th>'
            f"<th>{_e(t['ports'])}</th></tr>{hosts_rows}</table>")  # fmt: skip


def _events(doc: Mapping[str, Any]) -> str:
    events = list(doc.get("events") or [])[-15:]
    rows = "".join(f"<tr><td>{_e(local_time(e.get('time')))}</td><td>{_e(e.get('code'))}</td>"
                   f"<td>{_e(e.get('message'))}</td></tr>" for e in reversed(events))  # fmt: skip
    return f'<table class="events">{rows}</table>'


def main_part(doc: Mapping[str, Any], lang: str = "en") -> str:
    t = TEXT[lang]
    use = doc.get("port_use") if isinstance(doc.get("port_use"), dict) else None
    mapping = doc.get("mapping") if isinstance(doc.get("mapping"), dict) else {}
    ranges = (mapping or {}).get("port_ranges") or []
    parts = [f"<h2>{_e(t['status'])}</h2>", _summary(doc, t)]
    softwire = doc.get("softwire")
    if isinstance(softwire, dict):  # DS-Lite or IPIP: the tunnel, no port set to map
        rows: list[tuple[str, object]] = [
            (k, v) for k, v in softwire_rows(softwire, doc.get("update"), lang)
        ]
        parts += [f"<h2>{_e(t['mechanism'])}</h2>", f'<div id="softwire">{_rows(rows)}</div>']
    else:
        parts += [f"<h2>{_e(t['mapping'])}</h2>", _mapping(doc, t)]
    if use is not None:
        failures = f"{use.get('insert_failed', 0)} + {use.get('drop', 0)}"
        parts += [
            f"<h2>{_e(t['port_set'])}</h2>",
            f'<p id="usage">{_e(t["flows"])} {_e(use.get("flows"))}; {_e(t["nat_failures"])} '
            f"{_e(failures)}</p>",
            f'<div id="cells">{_cells(use, ranges)}</div>',
            f"<h2>{_e(t['busiest'])}</h2>",
            _destinations(use, t),
        ]
    parts += [f"<h2>{_e(t['events'])}</h2>", _events(doc)]
    return "\n".join(parts)


def page(doc: Mapping[str, Any], lang: str = "en") -> str:
    title = _e(page_title(doc, lang))
    head = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{title}</title><style>{STYLE}</style>"
            '<script src="page.js" defer></script></head>')  # fmt: skip
    return f"{head}<body><h1>{title}</h1><main>{main_part(doc, lang)}</main></body></html>"
