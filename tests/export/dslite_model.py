"""What OpenWrt does with a ``proto dslite`` or ``proto ipip6`` interface section, written
from reading its sources — not from mapekit's code.

Sources (openwrt/openwrt and openwrt/netifd):

- ``package/network/ipv6/ds-lite/files/dslite.sh`` (the 2024 version that added ``ipip6``):
  both protocols read ``ip6addr``, ``peeraddr``, ``tunlink``, ``mtu``, ``ttl``,
  ``encaplimit``, ``zone`` and ``weakif``; ``ipip6`` also ``ip4ifaddr``. ``peeraddr`` is
  resolved (``resolveip -6``) when it is a name. Without ``ip6addr`` the local end is the
  ``tunlink`` interface's IPv6 address (else the ``weakif``'s, ``lan`` by default). The
  device is ``ds-<section>`` (``dslite``) or ``ipip6-<section>``; it gets the IPv4 address
  192.0.0.2 with peer 192.0.0.1 (``dslite``) or ``ip4ifaddr`` (``ipip6``), a default route,
  an ``ipip6``-mode tunnel with ``mtu`` (1280 when unset) and ``ttl`` (64), and
  ``encaplimit`` passed in the tunnel's data.
- netifd ``system-linux.c``, the ipip6 tunnel: an ``encaplimit`` of ``ignore`` sets
  ``IP6_TNL_F_IGN_ENCAP_LIMIT`` (no RFC 2473 encapsulation-limit option), a number sets
  that limit.
- The interface options ``ip6assign``, ``ip6hint`` and ``ip6ifaceid`` are netifd's own
  (OpenWrt's network configuration documentation, "IPv6 options"); ``ifaceid`` is read by
  the ``dhcpv6`` protocol (``package/network/ipv6/odhcp6c/files/dhcpv6.sh``), which hands
  it to odhcp6c as the interface ID of its RA-based address.
"""

from __future__ import annotations

from dataclasses import dataclass

READS = {
    "dslite": {"ip6addr", "peeraddr", "tunlink", "mtu", "ttl", "encaplimit", "zone", "weakif"},
    "ipip6": {"ip6addr", "peeraddr", "tunlink", "mtu", "ttl", "encaplimit", "zone", "weakif",
              "ip4ifaddr"},
}  # fmt: skip
NETIFD = {"proto", "ip6assign", "ip6hint", "ip6ifaceid"}
DHCPV6_READS = {"reqaddress", "reqprefix", "clientid", "reqopts", "noslaaconly",
                "forceprefix", "norelease", "ip6prefix", "iface_dslite", "zone_dslite",
                "ifaceid", "sourcerouting", "userclass", "vendorclass", "delegate"}  # fmt: skip


@dataclass(frozen=True)
class Tunnel:
    device: str
    local: str | None  # None: the tunlink's (or the LAN's) own address
    remote: str  # an address, or a name the script resolves
    ipv4: str
    peer: str
    mtu: int
    ttl: int
    encap_limit: int | None  # None: no encapsulation-limit option


def tunnel(section: str, options: dict[str, str]) -> Tunnel:
    proto = options["proto"]
    encap = options.get("encaplimit")
    return Tunnel(
        device=("ds-" if proto == "dslite" else "ipip6-") + section,
        local=options.get("ip6addr"),
        remote=options["peeraddr"],
        ipv4="192.0.0.2" if proto == "dslite" else options["ip4ifaddr"],
        peer="192.0.0.1" if proto == "dslite" else "0.0.0.0",
        mtu=int(options.get("mtu", "1280")),
        ttl=int(options.get("ttl", "64")),
        encap_limit=None if encap in (None, "ignore") else int(encap),
    )
