"""The MAP-E mapping rule (RFC 7597 §5), validated when it is built.

A rule is {Rule IPv6 prefix /n, Rule IPv4 prefix /r, EA-bits length o, PSID offset a}.
The PSID length is k = max(0, o + r - 32): o + r > 32 gives a shared address, = 32 a full
address, < 32 an IPv4 prefix. RFC 7598 port parameters may also provision the PSID
length and the PSID itself; that is only meaningful where the EA bits carry no PSID.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field

from mapekit.core.addr import parse_ipv4_network, parse_ipv6_address, parse_ipv6_network
from mapekit.core.errors import InputError, RuleError

MAX_EA_LEN = 48
MAX_PSID_OFFSET = 15


class IidFormat(enum.Enum):
    """How the CE's interface id is laid out (RFC 7597 §6 vs. draft-ietf-softwire-map-03)."""

    RFC = "rfc"  # 16 zero bits, IPv4 (32), PSID (16)
    LEGACY = "legacy"  # 8 zero bits, IPv4 (32), PSID (16), 8 zero bits

    @classmethod
    def from_text(cls, text: str, field: str = "iid") -> IidFormat:
        try:
            return cls(text)
        except ValueError:
            raise InputError(
                "input.unknown_iid",
                f"{field}: {text!r} is not an interface-id format (use 'rfc' or 'legacy')",
                field=field,
                value=text,
            ) from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class MappingRule:
    """One Basic or Forwarding Mapping Rule.

    ``psid_len`` is derived (k = max(0, o + r - 32)) unless RFC 7598 port parameters gave
    it (``explicit_psid_len``). ``isp`` and ``iid`` say where the rule came from and which
    interface-id format its CEs use.
    """

    ipv6_prefix: ipaddress.IPv6Network
    ipv4_prefix: ipaddress.IPv4Network
    ea_len: int
    psid_offset: int
    explicit_psid_len: int | None = None
    psid: int | None = None
    br: ipaddress.IPv6Address | None = None
    fmr: bool = False
    isp: str | None = None
    iid: IidFormat = IidFormat.RFC
    psid_len: int = field(init=False)
    # integer forms for the hot paths of mapping.py and ruleset.py
    _v6: int = field(init=False, repr=False, compare=False)
    _n: int = field(init=False, repr=False, compare=False)
    _v4: int = field(init=False, repr=False, compare=False)
    _r: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        o, r, n = self.ea_len, self.ipv4_prefix.prefixlen, self.ipv6_prefix.prefixlen
        if not _is_int(o) or not 0 <= o <= MAX_EA_LEN:
            raise RuleError(
                "rule.ea_len_range",
                f"ea_len: {o!r} is outside 0-{MAX_EA_LEN}",
                field="ea_len",
                value=o,
            )
        a = self.psid_offset
        if not _is_int(a) or not 0 <= a <= MAX_PSID_OFFSET:
            raise RuleError(
                "rule.psid_offset_range",
                f"psid_offset: {a!r} is outside 0-{MAX_PSID_OFFSET}",
                field="psid_offset",
                value=a,
            )
        if n + o > 64:
            raise RuleError(
                "rule.ipv6_too_long",
                f"ea_len: /{n} + {o} EA bits = {n + o} bits, more than the 64 bits of an "
                "End-user prefix",
                field="ea_len",
                value=o,
            )
        k = self._check_psid_len(o + r - 32)
        if a + k > 16:
            raise RuleError(
                "rule.psid_len_range",
                f"psid_offset: offset {a} + PSID length {k} = {a + k} bits, more than the "
                "16 bits of a port",
                field="psid_offset",
                value=a,
            )
        self._check_psid(o + r - 32, k)
        object.__setattr__(self, "psid_len", k)
        object.__setattr__(self, "_v6", int(self.ipv6_prefix.network_address))
        object.__setattr__(self, "_n", n)
        object.__setattr__(self, "_v4", int(self.ipv4_prefix.network_address))
        object.__setattr__(self, "_r", r)

    def _check_psid_len(self, excess: int) -> int:
        """The effective PSID length, checking an explicit one against the EA bits."""
        derived = max(0, excess)
        k = self.explicit_psid_len
        if k is None:
            return derived
        if not _is_int(k) or not 0 <= k <= 16:
            raise RuleError(
                "rule.psid_len_range",
                f"psid_len: {k!r} is outside 0-16",
                field="psid_len",
                value=k,
            )
        if excess > 0 and k != derived:
            raise RuleError(
                "rule.psid_len_contradicts_ea",
                f"psid_len: {k} contradicts the EA bits: {self.ea_len} EA bits + /"
                f"{self.ipv4_prefix.prefixlen} - 32 = {derived}",
                field="psid_len",
                value=k,
            )
        if excess < 0 and k != 0:
            raise RuleError(
                "rule.psid_len_contradicts_ea",
                f"psid_len: {k} contradicts the EA bits: {self.ea_len} EA bits complete only "
                f"a /{self.ipv4_prefix.prefixlen + self.ea_len} IPv4 prefix, so no port set",
                field="psid_len",
                value=k,
            )
        return k

    def _check_psid(self, excess: int, k: int) -> None:
        psid = self.psid
        if psid is None:
            if excess <= 0 and k > 0:
                raise RuleError(
                    "rule.psid_missing",
                    f"psid: PSID length {k} given without EA bits for the PSID; the PSID "
                    "itself is needed",
                    field="psid",
                )
            return
        if excess > 0:
            raise RuleError(
                "rule.psid_not_allowed",
                f"psid: {psid!r} given, but the PSID comes from the EA bits under this rule",
                field="psid",
                value=psid,
            )
        if not _is_int(psid) or not 0 <= psid < (1 << k):
            raise RuleError(
                "rule.psid_range",
                f"psid: {psid!r} does not fit in a PSID length of {k} (0-{(1 << k) - 1})",
                field="psid",
                value=psid,
            )

    @classmethod
    def from_text(
        cls,
        ipv6_prefix: str,
        ipv4_prefix: str,
        ea_len: int,
        psid_offset: int,
        *,
        br: str | None = None,
        psid_len: int | None = None,
        psid: int | None = None,
        fmr: bool = False,
        isp: str | None = None,
        iid: IidFormat = IidFormat.RFC,
    ) -> MappingRule:
        """Build a rule from text fields; errors name ``ipv6_prefix``, ``br``, …"""
        return cls(
            ipv6_prefix=parse_ipv6_network(ipv6_prefix, "ipv6_prefix"),
            ipv4_prefix=parse_ipv4_network(ipv4_prefix, "ipv4_prefix"),
            ea_len=ea_len,
            psid_offset=psid_offset,
            explicit_psid_len=psid_len,
            psid=psid,
            br=None if br is None else parse_ipv6_address(br, "br"),
            fmr=fmr,
            isp=isp,
            iid=iid,
        )

    @property
    def sharing_ratio(self) -> int:
        """How many CEs share one IPv4 address (2^k)."""
        return 1 << self.psid_len

    @property
    def ea_end(self) -> int:
        """The bit position where the EA bits end (n + o)."""
        return self.ipv6_prefix.prefixlen + self.ea_len

    def to_dict(self) -> dict[str, object]:
        """The ``rule`` object of ``mape calc --json``."""
        out: dict[str, object] = {
            "ipv6_prefix": str(self.ipv6_prefix),
            "ipv4_prefix": str(self.ipv4_prefix),
            "ea_len": self.ea_len,
            "psid_offset": self.psid_offset,
            "psid_len": self.psid_len,
        }
        if self.psid is not None:
            out["psid"] = self.psid
        return out

    def describe(self) -> str:
        """``240b:10::/31 → 106.72.0.0/15, EA 25, offset 4``"""
        return (
            f"{self.ipv6_prefix} → {self.ipv4_prefix}, EA {self.ea_len}, offset {self.psid_offset}"
        )
