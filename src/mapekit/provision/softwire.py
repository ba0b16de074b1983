"""What a DS-Lite or IPIP delivery means for this CE's prefix (pure): the tunnel's two ends
and the IPv4 side.

- **DS-Lite** (RFC 6333): the CE is a B4. Its IPv6 end is an address of the delegated
  prefix's subnet 0 with the interface id ``::b4`` (``B4_IID``), its IPv4 address is
  192.0.0.2 of the well-known 192.0.0.0/29 (RFC 6333 §5.7, the AFTR being 192.0.0.1), and
  the LAN's addresses go through the softwire **without NAT**: the AFTR is the only NAT.
- **IPIP fixed IPv4**: the CE's IPv6 end is the operator's ``ipv6_local`` or the subnet 0
  of the prefix with the operator's interface id; the fixed address (or prefix) goes on the
  tunnel, and the LAN is NATed to it (a prefix is routed, not NATed).
"""

from __future__ import annotations

import ipaddress

from mapekit.core.addr import ipv6_text, mask
from mapekit.core.softwire import B4_ADDRESS, B4_IID, B4_PREFIX_LEN, Softwire
from mapekit.provision.errors import ReplyError
from mapekit.provision.model import SoftwireDelivery


def _in_prefix(address: int, prefix: int, prefix_len: int) -> bool:
    return address & mask(128, prefix_len) == prefix


def select_softwire(delivery: SoftwireDelivery, prefix: int, prefix_len: int) -> Softwire:
    """The softwire of ``delivery`` for the CE prefix, or a ReplyError naming the problem."""
    remote = _address(delivery.remote, "remote")
    if delivery.mechanism == "dslite":
        local = prefix | B4_IID
        return Softwire("dslite", ipv6_text(local), ipv6_text(remote), delivery.remote_name,
                        B4_ADDRESS, B4_PREFIX_LEN, nat=False)  # fmt: skip
    if delivery.local is not None:
        local = _address(delivery.local, "ipv6_local")
        if not _in_prefix(local, prefix, prefix_len):
            raise ReplyError(
                "softwire.outside_prefix",
                f"ipv6_local: {delivery.local} is not inside the CE prefix "
                f"{ipv6_text(prefix)}/{prefix_len}",
                field="ipv6_local",
            )
    elif delivery.interface_id is not None:
        local = prefix | (delivery.interface_id & ((1 << 64) - 1))
    else:
        raise ReplyError("reply.missing_field", "ipip: no ipv6_local and no interface id",
                         field="ipv6_local")  # fmt: skip
    try:
        network = ipaddress.IPv4Network(delivery.ipv4 or "", strict=False)
    except ValueError:
        raise ReplyError("reply.bad_value", f"ipv4: {delivery.ipv4!r:.40} is not an IPv4 "
                         "address or prefix", field="ipv4") from None  # fmt: skip
    return Softwire("ipip", ipv6_text(local), ipv6_text(remote), delivery.remote_name,
                    str(network.network_address if network.prefixlen < 32 else network[0]),
                    network.prefixlen, nat=network.prefixlen == 32)  # fmt: skip


def _address(text: str, field: str) -> int:
    try:
        return int(ipaddress.IPv6Address(text))
    except ValueError:
        raise ReplyError("reply.bad_value", f"{field}: {text!r:.60} is not an IPv6 address",
                         field=field) from None  # fmt: skip
