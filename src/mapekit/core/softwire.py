"""A DS-Lite softwire or an IPIP tunnel, as the data plane needs it (see
``mapekit.provision.softwire`` for how a delivery becomes one)."""

from __future__ import annotations

from dataclasses import dataclass

B4_IID = 0xB4  # the B4's interface id in the delegated prefix's subnet 0
B4_ADDRESS, AFTR_ADDRESS, B4_PREFIX_LEN = "192.0.0.2", "192.0.0.1", 29  # RFC 6333 §5.7


@dataclass(frozen=True)
class Softwire:
    mechanism: str  # dslite | ipip
    local: str  # the CE's IPv6 end
    remote: str  # the AFTR / endpoint
    remote_name: str | None
    ipv4: str  # on the tunnel
    ipv4_prefix_len: int
    nat: bool  # NAT the LAN to ``ipv4`` (IPIP with one address)

    def to_dict(self) -> dict[str, object]:
        return {
            "mechanism": self.mechanism, "local": self.local, "remote": self.remote,
            "remote_name": self.remote_name, "ipv4": self.ipv4,
            "ipv4_prefix_len": self.ipv4_prefix_len, "nat": self.nat,
        }  # fmt: skip
