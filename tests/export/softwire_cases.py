"""The DS-Lite and IPIP lines every softwire export test uses, with their addresses worked
out by hand (docs/design.md §7): the IPIP tunnel address is subnet 0 of the End-user
prefix with the operator's interface ID — for 2001:db8:12:3400::/56 (or the RA /64
2001:db8:12:3400::/64) and ::1234:5678:9abc:def0 that is 2001:db8:12:3400:1234:5678:9abc:def0;
the B4 address is subnet 0 with ::b4, and 192.0.0.2/29 goes on a DS-Lite tunnel (RFC 6333
§5.7)."""

from __future__ import annotations

from mapekit.export import FORMATS, export_softwire, softwire_options
from mapekit.export.common import parse_release
from mapekit.export.softwire import SoftwireLine

TUNNEL_ADDRESS = "2001:db8:12:3400:1234:5678:9abc:def0"
ENDPOINT, AFTR, AFTR_NAME = "2001:db8:ffff::2", "2001:db8:ffff::1", "gw.aftr.example"
UPDATE_URL = "https://update.example/update?user=subscriber&pass=secret"


def _dslite(remote: str | None, name: str | None) -> SoftwireLine:
    return SoftwireLine("dslite", "2001:db8:12:3400::/56", "2001:db8:12:3400::b4", remote, name,
                        "192.0.0.2", 29, nat=False)  # fmt: skip


def _ipip(prefix: str, ipv4: str = "203.0.113.9", length: int = 32) -> SoftwireLine:
    return SoftwireLine("ipip", prefix, TUNNEL_ADDRESS, ENDPOINT, None, ipv4, length,
                        nat=length == 32, update_url=UPDATE_URL)  # fmt: skip


CASES: dict[str, SoftwireLine] = {
    "dslite": _dslite(AFTR, AFTR_NAME),  # a name, and its address
    "dslite-address": _dslite(AFTR, None),  # only an address
    "dslite-name": _dslite(None, AFTR_NAME),  # only a name
    "ipip-pd": _ipip("2001:db8:12:3400::/56"),
    "ipip-ra": _ipip("2001:db8:12:3400::/64"),
    "ipip-routed": _ipip("2001:db8:12:3400::/56", "203.0.113.8", 29),
}


def render_softwire_case(case: str, fmt: str, release: str = "", **names: str) -> str:
    options = softwire_options(FORMATS[fmt], release=parse_release(release) if release else None,
                               **names)  # type: ignore[arg-type]  # fmt: skip
    return export_softwire(fmt, CASES[case], options)
