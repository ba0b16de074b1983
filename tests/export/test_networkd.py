"""The networkd files carry only sections and keys systemd 252 documents.

The table below is copied by hand from systemd.netdev(5) and systemd.network(5) of
systemd 252 (Debian 12), for the sections the export writes; a key outside it is an
"Unknown key name" warning in networkd's log, and the unit may not apply.
"""

from __future__ import annotations

import re

import pytest

from tests.export.test_formats import render_case

DOCUMENTED: dict[str, dict[str, set[str]]] = {
    "netdev": {
        "NetDev": {"Description", "Name", "Kind", "MTUBytes", "MACAddress"},
        "Tunnel": {"Local", "Remote", "TOS", "TTL", "DiscoverPathMTU", "Mode",
                   "EncapsulationLimit", "IPv6FlowLabel", "CopyDSCP", "Independent",
                   "AllowLocalRemote", "External"},
    },
    "network": {
        "Match": {"Name", "MACAddress", "Type", "Driver"},
        "Network": {"Address", "Tunnel", "DHCP", "IPv6AcceptRA", "IPForward", "DNS"},
        "Address": {"Address", "Peer", "DuplicateAddressDetection", "PreferredLifetime",
                    "Scope", "Label"},
        "Route": {"Destination", "Gateway", "Source", "Metric", "Scope", "Table", "Type",
                  "MTUBytes"},
    },
}  # fmt: skip
FILE = re.compile(r"# ==> (\S+) ")


def unit_files(text: str) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if m := FILE.match(line):
            path = m.group(1)
            current = files.setdefault(path, []) if ".net" in path or ".conf" in path else None
        elif current is not None and line and not line.startswith("#"):
            current.append(line)
    return {path: lines for path, lines in files.items() if not path.endswith("nftables.conf")}


@pytest.mark.parametrize("vector", ["v6plus", "ocn", "rfc"])
def test_every_key_is_documented(vector: str) -> None:
    files = unit_files(render_case(vector, "networkd"))
    assert len(files) == 3
    for path, lines in files.items():
        kind = "netdev" if path.endswith(".netdev") else "network"
        section = None
        for line in lines:
            if line.startswith("["):
                section = line.strip("[]")
                assert section in DOCUMENTED[kind], (path, section)
                continue
            key, _, value = line.partition("=")
            assert section is not None and key in DOCUMENTED[kind][section], (path, line)
            assert value and "\n" not in value
