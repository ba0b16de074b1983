"""What ``mape setup`` and ``mape doctor`` find out about a router by looking: the WAN and
LAN interfaces, how the delegated prefix arrives (dhcpcd, systemd-networkd, or router
advertisements only), the prefix now, the home gateway, the HB46PP record and RFC 7598
options. Each probe is short (the HGW check gives up within 2 s) and changes nothing.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mapekit.client.fetch import Hb46ppSource, discover
from mapekit.client.hgw import check_hgw
from mapekit.core.addr import ipv6_text, mask, parse_end_user_prefix
from mapekit.core.aftr import decode_name, encode_name
from mapekit.core.errors import MapeError
from mapekit.dataplane.links import InterfaceInfo, default_route_interfaces, interfaces
from mapekit.provision.hb46pp import ClientIdentity

DEFAULT_HGW = "http://ntt.setup:8888/enabler.ipv4/check"
DEFAULT_PD_FILE = "/run/mapekit/pd"
DEFAULT_S46_FILE = "/run/mapekit/s46.hex"
DEFAULT_AFTR_FILE = "/run/mapekit/aftr"
TUNNEL_KINDS = ("ip6tnl", "tun", "ipip", "sit", "gre", "wireguard")
LAN_NAMES = re.compile(r"(br-lan|br0|lan\d*|eth1|enp\d+s\d+f?\d*)$")
NETIF_LINKS = Path("/run/systemd/netif/links")

Prefix = tuple[int, int]


@dataclass(frozen=True)
class Detected:
    """What was seen; None where nothing could be told."""

    wan: str | None
    lan: str | None
    delivery: str  # dhcpcd | networkd | ra
    prefix: Prefix | None
    prefix_source: str  # where the prefix was seen (DHCPv6-PD, dhcpcd lease, RA /64, …)
    hgw: str | None  # none | off | on
    hgw_how: str
    hb46pp_url: str | None
    s46_options: bool
    networkd_files: dict[str, str]  # interface → the .network file that configures it
    aftr: str | None = None  # the AFTR name DHCPv6 option 64 brought (the hook's file)


def _candidates(links: list[InterfaceInfo]) -> list[InterfaceInfo]:
    return [i for i in links if i.kind not in TUNNEL_KINDS and not i.name.startswith("mape")]


def detect_wan(links: list[InterfaceInfo] | None = None) -> str | None:
    """The interface of the IPv6 default route, else of the IPv4 one, else the only
    candidate; None when it cannot be told (then ``--wan`` says it)."""
    links = _candidates(interfaces() if links is None else links)
    by_index = {i.index: i for i in links}
    for family in (socket.AF_INET6, socket.AF_INET):
        for index in default_route_interfaces(family):
            if index in by_index:
                return by_index[index].name
    up = [i for i in links if i.up and not any(_private(a) for a, _ in i.ipv4)]
    return up[0].name if len(up) == 1 else None


def _private(address: str) -> bool:
    return ipaddress.IPv4Address(address).is_private


def detect_lan(wan: str | None, links: list[InterfaceInfo] | None = None) -> str | None:
    """An up interface with a private IPv4 address (the home side), preferring usual
    LAN names; None when there is none."""
    links = [i for i in _candidates(interfaces() if links is None else links) if i.name != wan]
    lans = [i for i in links if i.up and any(_private(a) for a, _ in i.ipv4)]
    named = [i for i in lans if LAN_NAMES.match(i.name)]
    chosen = named or lans
    return chosen[0].name if chosen else None


def networkd_file(index: int, root: Path = Path("/")) -> str | None:
    """The .network file systemd-networkd configures interface ``index`` with, if any."""
    state = root / NETIF_LINKS.relative_to("/") / str(index)
    try:
        text = state.read_text()
    except OSError:
        return None
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if values.get("ADMIN_STATE") not in ("configured", "configuring"):
        return None
    return values.get("NETWORK_FILE") or None


def detect_delivery(wan: str | None, links: list[InterfaceInfo]) -> tuple[str, dict[str, str]]:
    """How the delegated prefix arrives: systemd-networkd when it manages the WAN, dhcpcd
    when it is installed, else router advertisements only."""
    files = {i.name: f for i in links if (f := networkd_file(i.index)) is not None}
    if wan is not None and wan in files:
        return "networkd", files
    if shutil.which("dhcpcd") or Path("/usr/sbin/dhcpcd").exists():
        return "dhcpcd", files
    return "ra", files


def dhcpcd_lease_prefix(wan: str) -> Prefix | None:
    """The delegated prefix of dhcpcd's current lease on ``wan`` (``dhcpcd -U -6``)."""
    binary = shutil.which("dhcpcd") or "/usr/sbin/dhcpcd"
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program and a checked interface name
            [binary, "-U", "-6", wan], capture_output=True, text=True, timeout=3, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    values = {}
    for line in done.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip("'\"")
    prefix = values.get("dhcp6_ia_pd1_prefix1")
    length = values.get("dhcp6_ia_pd1_prefix1_length")
    if not prefix or not length:
        return None
    try:
        return parse_end_user_prefix(f"{prefix}/{length}", "dhcpcd")
    except MapeError:
        return None


def detect_prefix(
    wan: str | None,
    pd_file: str = DEFAULT_PD_FILE,
    lan: str | None = None,
    links: list[InterfaceInfo] | None = None,
) -> tuple[Prefix | None, str]:
    """The End-user prefix now and where it was seen."""
    try:
        line = Path(pd_file).read_text(encoding="ascii").split()[0]
        return parse_end_user_prefix(line, "pd_file"), "DHCPv6-PD"
    except (OSError, UnicodeDecodeError, IndexError, MapeError):
        pass
    if wan is not None and (shutil.which("dhcpcd") or Path("/usr/sbin/dhcpcd").exists()):
        lease = dhcpcd_lease_prefix(wan)
        if lease is not None:
            return lease, "DHCPv6-PD (dhcpcd's lease)"
    links = interfaces() if links is None else links
    for name, source in ((wan, "RA /64"), (lan, "LAN /64")):
        for link in links:
            if link.name != name:
                continue
            for address, length in link.ipv6:
                if length != 128:
                    return (address & mask(128, 64), 64), source
    return None, "none"


def detect_hb46pp(timeout_note: list[str]) -> str | None:
    """The HB46PP provisioning URL from the ``4over6.info`` TXT record, if there is one."""
    try:
        found = discover(Hb46ppSource(ClientIdentity("000000-mapekit", "mapekit", "0")))
    except MapeError as exc:
        timeout_note.append(exc.message)
        return None
    return found.url


def detect(
    wan: str | None = None,
    lan: str | None = None,
    *,
    pd_file: str = DEFAULT_PD_FILE,
    s46_file: str = DEFAULT_S46_FILE,
    hgw_url: str | None = DEFAULT_HGW,
    aftr_file: str = DEFAULT_AFTR_FILE,
) -> Detected:
    links = interfaces()
    wan = wan or detect_wan(links)
    lan = lan or detect_lan(wan, links)
    delivery, files = detect_delivery(wan, links)
    prefix, source = detect_prefix(wan, pd_file, lan, links)
    hgw, how = (None, "not checked")
    if hgw_url:
        report, how = check_hgw(hgw_url)
        hgw = report.state.value
    notes: list[str] = []
    try:
        s46 = os.path.getsize(s46_file) > 0
    except OSError:
        s46 = False
    return Detected(
        wan=wan, lan=lan, delivery=delivery, prefix=prefix, prefix_source=source, hgw=hgw,
        hgw_how=how, hb46pp_url=detect_hb46pp(notes), s46_options=s46, networkd_files=files,
        aftr=detect_aftr(aftr_file),
    )  # fmt: skip


def detect_aftr(path: str) -> str | None:
    """The AFTR name the hook wrote from DHCPv6 option 64, if any (checked as a name)."""
    try:
        text = Path(path).read_text(encoding="ascii").strip()[:255]
        return decode_name(encode_name(text))
    except (OSError, UnicodeDecodeError, MapeError):
        return None


def prefix_text(prefix: Prefix | None) -> str:
    return "-" if prefix is None else f"{ipv6_text(prefix[0])}/{prefix[1]}"
