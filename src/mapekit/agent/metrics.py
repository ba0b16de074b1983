"""The agent's status as Prometheus metrics (the text format, version 0.0.4), following
Prometheus' naming conventions: a ``mapekit_`` prefix, units in names, ``_total`` for
counters, packets and bytes as separate metrics, direction and reason as labels. Labels that
come from traffic (hosts, destinations) are bounded: the busiest few only.

Served on the web listener's ``/metrics`` (and on ``state.metrics`` when set).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from typing import Any

MAX_HOSTS = 32
MAX_DESTINATIONS = 10


def serve_metrics(
    host: str, port: int, stop: threading.Event, status: Callable[[], dict[str, Any]]
) -> None:
    """A metrics-only listener (``state.metrics``); raises OSError when it cannot listen."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/metrics"
            body = render_metrics(status()).encode() if found else b""
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    server.timeout = 0.5
    with server:
        while not stop.is_set():
            server.handle_request()


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, object]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str,
               samples: Iterator[tuple[dict[str, object], float]]) -> None:  # fmt: skip
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        self.lines += [f"{name}{_labels(labels)} {value:g}" for labels, value in samples]


def _one(value: object) -> Iterator[tuple[dict[str, object], float]]:
    yield {}, float(value) if isinstance(value, int | float) else 0.0


def _dataplane(counters: dict[str, int], unit: str) -> Iterator[tuple[dict[str, object], float]]:
    """``out``, ``in``, ``in_drop_REASON`` (and ``…_bytes``) as direction, result and reason."""
    for name, value in sorted(counters.items()):
        is_bytes = name.endswith("_bytes")
        if is_bytes != (unit == "bytes"):
            continue
        base = name.removesuffix("_bytes")
        direction, _, rest = base.partition("_")
        reason = rest.removeprefix("drop_") if rest.startswith("drop_") else rest
        result = "dropped" if rest.startswith("drop_") else "forwarded" if not rest else "other"
        yield {"direction": direction, "result": result, "reason": reason}, float(value)


def render_metrics(status: dict[str, Any]) -> str:
    """The agent's status as Prometheus text."""
    out = _Out()
    out.family("mapekit_established", "gauge", "1 when MAP-E is established.",
               _one(1 if status.get("state") == "established" else 0))  # fmt: skip
    for key, what in (("requests", "Rule requests sent."), ("successes", "Usable rule answers."),
                      ("failures", "Failed rule requests."),
                      ("repairs", "Repairs of what something else removed.")):  # fmt: skip
        out.family(f"mapekit_{key}_total", "counter", what, _one(status.get(key) or 0))
    counters = status.get("counters") or {}
    out.family(
        "mapekit_dataplane_packets_total",
        "counter",
        "Tunnel packets by direction, result and reason.",
        _dataplane(counters, "packets"),
    )
    out.family("mapekit_dataplane_bytes_total", "counter",
               "Tunnel bytes by direction, result and reason.",
               _dataplane(counters, "bytes"))  # fmt: skip
    use = status.get("port_use")
    if isinstance(use, dict):
        _port_metrics(out, use)
    return "\n".join(out.lines) + "\n"


def _port_metrics(out: _Out, use: dict[str, Any]) -> None:
    out.family("mapekit_ports", "gauge", "Ports of the set.", _one(use.get("port_count")))
    out.family(
        "mapekit_ports_in_use",
        "gauge",
        "Distinct ports of the set in use, by protocol.",
        (({"protocol": p}, float(n)) for p, n in (use.get("ports_in_use") or {}).items()),
    )
    out.family(
        "mapekit_port_block_ports_in_use",
        "gauge",
        "Ports in use per block of the set.",
        (({"block": i}, float(n)) for i, n in enumerate(use.get("per_block") or [])),
    )
    out.family(
        "mapekit_nat_flows", "gauge", "NATed flows through the tunnel.", _one(use.get("flows"))
    )
    hosts = list((use.get("per_host") or {}).items())[:MAX_HOSTS]
    out.family(
        "mapekit_host_flows",
        "gauge",
        "NATed flows per LAN host (the busiest hosts).",
        (({"host": h}, float(n.get("flows", 0))) for h, n in hosts),
    )
    busiest = (use.get("busiest") or [])[:MAX_DESTINATIONS]
    out.family(
        "mapekit_destination_port_share_ratio",
        "gauge",
        "Share of the set taken toward each of the busiest destinations (1: exhausted).",
        (
            (
                {"protocol": d.get("proto"), "destination": f"{d.get('address')}:{d.get('port')}"},
                float(d.get("share") or 0),
            )
            for d in busiest
        ),
    )
    failures = float(use.get("insert_failed") or 0) + float(use.get("drop") or 0)
    out.family("mapekit_nat_failures_total", "counter",
               "New flows conntrack could not NAT (insert_failed + drop).",
               _one(failures))  # fmt: skip
