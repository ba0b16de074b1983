"""The networkd files carry only sections and keys systemd 252 documents.

The table below is copied by hand from systemd.netdev(5) and systemd.network(5) of
systemd 252 (Debian 12), for the sections the export writes; a key outside it is an
"Unknown key name" warning in networkd's log, and the unit may not apply.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mapekit.agent.proposal import Seen, Wishes, propose
from mapekit.agent.setup_files import Layout, Setting, networkd_dropins
from mapekit.core.tables import builtin_rules
from tests.export.softwire_cases import render_softwire_case
from tests.export.test_formats import render_case
from tests.netns import Lab, needs_root

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


def render_any(vector: str) -> str:
    """A MAP-E vector's export, or a DS-Lite / IPIP case's (tests/export/softwire_cases.py)."""
    if vector.startswith(("dslite", "ipip")):
        return render_softwire_case(vector, "networkd")
    return render_case(vector, "networkd")


@pytest.mark.parametrize("vector", ["v6plus", "ocn", "rfc", "dslite", "ipip-pd", "ipip-routed"])
def test_every_key_is_documented(vector: str) -> None:
    files = unit_files(render_any(vector))
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


NETWORKD = Path("/lib/systemd/systemd-networkd")
RUN_NETWORKD = """
mount -t tmpfs mapekit-test /run/systemd || exit 1
mkdir -p /run/systemd/network /run/systemd/netif || exit 1
chown systemd-network:systemd-network /run/systemd/netif
cp -r "$1"/. /run/systemd/network/ || exit 1
SYSTEMD_LOG_LEVEL=info SYSTEMD_LOG_TARGET=console exec timeout -s INT 4 "$2"
"""


def _install(folder: Path, path: str, lines: list[str]) -> None:
    name = Path(path).relative_to("/etc/systemd/network")
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n")


def _controls(folder: Path) -> None:
    """A wrong key in each kind of file, which networkd must report (so all were read)."""
    _install(folder, "/etc/systemd/network/99-control.network",
             ["[Match]", "Name=nothing", "[Network]", "NoSuchKey=1"])  # fmt: skip
    _install(folder, "/etc/systemd/network/99-control.network.d/x.conf",
             ["[Network]", "NoSuchDropinKey=1"])  # fmt: skip
    _install(folder, "/etc/systemd/network/99-control.netdev",
             ["[NetDev]", "Name=ctl0", "Kind=ip6tnl", "[Tunnel]", "NoSuchTunnelKey=1"])  # fmt: skip


def _run_networkd(folder: Path) -> str:
    with Lab() as lab:
        lab.add("router")
        lab.run("router", "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
        done = subprocess.run(
            ["ip", "netns", "exec", lab.ns("router"), "unshare", "--mount", "sh", "-c",
             RUN_NETWORKD, "networkd", str(folder), str(NETWORKD)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    log = done.stdout + done.stderr
    for control in ("99-control.network:4: Unknown key 'NoSuchKey'",
                    "x.conf:2: Unknown key 'NoSuchDropinKey'",
                    "99-control.netdev:5: Unknown key 'NoSuchTunnelKey'"):  # fmt: skip
        assert control in log, log[-2000:]
    return log


@needs_root
@pytest.mark.skipif(not NETWORKD.exists(), reason="needs systemd-networkd (Debian: systemd)")
@pytest.mark.parametrize("case", ["dslite", "ipip-pd"])
def test_systemd_networkd_loads_the_softwire_files_without_a_warning(
    case: str, tmp_path: Path
) -> None:
    """The DS-Lite and IPIP units (ip6tnl in ipip6 mode, the IPv4 side, the WAN drop-in),
    read by systemd-networkd in a namespace: no warning names them."""
    folder = tmp_path / "network"
    for path, lines in unit_files(render_softwire_case(case, "networkd")).items():
        _install(folder, path, lines)
    _install(folder, "/etc/systemd/network/10-eth0.network", ["[Match]", "Name=eth0"])
    _controls(folder)
    log = _run_networkd(folder)
    ours = [line for line in log.splitlines() if "mapekit" in line or "10-eth0" in line]
    assert ours == [], "\n".join(ours)


@needs_root
@pytest.mark.skipif(not NETWORKD.exists(), reason="needs systemd-networkd (Debian: systemd)")
def test_systemd_networkd_loads_the_files_without_a_warning(tmp_path: Path) -> None:
    """systemd-networkd itself, in a namespace with a private /run/systemd, reads the
    exported files (and the drop-ins `mape setup` writes): no warning names them. A control
    file with a wrong key proves the folder was read."""
    folder = tmp_path / "network"
    for path, lines in unit_files(render_case("v6plus", "networkd")).items():
        _install(folder, path, lines)
    _install(folder, "/etc/systemd/network/10-eth0.network", ["[Match]", "Name=eth0"])
    proposal = propose(Seen(None, "", "networkd", "none", None, False), Wishes(), builtin_rules(),
                       "table")  # fmt: skip
    setting = Setting("eth0", "eth1", "networkd", proposal)
    known = {"eth0": "/etc/systemd/network/10-eth0.network",
             "eth1": "/etc/systemd/network/20-eth1.network"}  # fmt: skip
    _install(folder, known["eth1"], ["[Match]", "Name=eth1"])
    for dropin in networkd_dropins(setting, known, Layout("/")):
        _install(folder, dropin.path, dropin.text.splitlines())
    _controls(folder)
    log = _run_networkd(folder)
    ours = [line for line in log.splitlines()
            if "mapekit" in line or "10-eth0" in line or "20-eth1" in line]  # fmt: skip
    assert ours == [], "\n".join(ours)
