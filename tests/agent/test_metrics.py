"""Prometheus metrics: a strict parser reads them; names carry units, counters end in
_total, direction/result/reason are labels, traffic-made labels are bounded."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from mapekit.agent.metrics import MAX_HOSTS, render_metrics

STATUS = {
    "state": "established", "requests": 3, "successes": 3, "failures": 0, "repairs": 2,
    "counters": {"out": 10, "out_bytes": 1000, "in": 7, "in_bytes": 700,
                 "in_drop_spoofed_source": 2, "in_drop_spoofed_source_bytes": 120},
    "port_use": {"port_count": 240, "flows": 5, "ports_in_use": {"tcp": 4, "udp": 1},
                 "per_block": [1, 0, 4], "insert_failed": 2, "drop": 1,
                 "per_host": {f"192.168.1.{i}": {"flows": i, "ports": i} for i in range(100)},
                 "busiest": [{"proto": "udp", "address": "198.51.100.53", "port": 53,
                              "flows": 12, "hosts": {}, "share": 0.05}]},
}  # fmt: skip


def test_metrics_parse_and_follow_the_conventions() -> None:
    text = render_metrics(STATUS)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, family in families.items():
        assert name.startswith("mapekit_") and family.documentation, name
        if family.type == "counter":
            assert f"# TYPE {name}_total counter" in text  # the client strips _total
    packets = {tuple(sorted(s.labels.items())): s.value
               for s in families["mapekit_dataplane_packets"].samples}  # fmt: skip
    assert packets[(("direction", "in"), ("reason", "spoofed_source"), ("result", "dropped"))] == 2
    assert packets[(("direction", "out"), ("reason", ""), ("result", "forwarded"))] == 10
    bytes_ = [
        s for s in families["mapekit_dataplane_bytes"].samples if s.labels["direction"] == "in"
    ]
    assert sorted(s.value for s in bytes_) == [120, 700]
    assert len(families["mapekit_host_flows"].samples) == MAX_HOSTS  # bounded
    assert families["mapekit_nat_failures"].samples[0].value == 3
    share = families["mapekit_destination_port_share_ratio"].samples[0]
    assert share.labels == {"protocol": "udp", "destination": "198.51.100.53:53"}
    assert families["mapekit_ports_in_use"].samples[0].labels == {"protocol": "tcp"}


def test_the_grafana_dashboard_uses_only_metrics_we_export() -> None:
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "contrib" /
                            "grafana-mapekit.json").read_text())  # fmt: skip
    exported = set(re.findall(r"^# TYPE (\S+) ", render_metrics(STATUS), re.MULTILINE))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for e in exprs for name in re.findall(r"\bmapekit_\w+", e)}
    assert used and used <= exported, used - exported
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
