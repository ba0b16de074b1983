"""OpenWrt: the exported files parse under UCI's grammar, and what OpenWrt's map.sh and
mapcalc derive from the exported options (recorded vectors) equals ``mape calc``."""

from __future__ import annotations

import pytest

from tests.export.openwrt_vectors import VECTORS, OpenWrtVector
from tests.export.test_formats import render_case
from tests.export.uci import parse_uci, uci_files
from tests.export.vectors import mapping_for

MAP_SH_ORDER = ("psid", "psidlen", "offset", "ealen")


def map_sh_rule(options: dict[str, str]) -> str:
    """The rule string map.sh builds from a proto-map section (see openwrt_vectors.py)."""
    rule = (
        f"type=map-e,ipv6prefix={options['ip6prefix']},prefix6len={options['ip6prefixlen']},"
        f"ipv4prefix={options['ipaddr']},prefix4len={options['ip4prefixlen']}"
    )
    rule += "".join(f",{key}={options[key]}" for key in MAP_SH_ORDER if key in options)
    return f"{rule},br={options['peeraddr']}"


def wanmap(vector: str, **extra: object) -> dict[str, str]:
    text = render_case(vector, "openwrt", forwards=(), **extra)
    network = parse_uci(uci_files(text)["/etc/config/network"])
    (section,) = [s for s in network if s.name == "wanmap"]
    return section.options


@pytest.mark.parametrize("case", VECTORS, ids=lambda c: c.vector)
def test_map_sh_derives_what_mape_calc_computes(case: OpenWrtVector) -> None:
    options = wanmap(case.vector)
    assert map_sh_rule(options) == case.rule
    assert int(options.get("legacymap", "0")) == case.legacy
    mapping, _ = mapping_for(case.vector)
    d = mapping.to_dict()
    assert (d["ipv4"], d["ce_ipv6"], d["psid"]) == (case.ipv4, case.ce, case.psid)
    ranges = [f"{first}-{last}" for first, last in mapping.port_set.ranges()]
    assert (len(ranges), ranges[0], ranges[-1]) == (case.ranges, case.first, case.last)


@pytest.mark.parametrize("vector", ["v6plus", "ocn", "rfc", "explicit32", "ra64"])
@pytest.mark.parametrize("full", [False, True])
def test_every_exported_uci_file_parses(vector: str, full: bool) -> None:
    text = render_case(vector, "openwrt", full=full)
    files = uci_files(text)
    assert "/etc/config/network" in files and "/etc/config/firewall" in files
    for body in files.values():
        assert parse_uci(body)


@pytest.mark.parametrize(
    "bad",
    ["option proto 'map'", "config interface 'wan-map'", "config interface\n\toption x 'a'b'",
     "config zone\n\toption name 'lan' extra", "conf interface 'lan'"],
)  # fmt: skip
def test_the_uci_parser_is_strict(bad: str) -> None:
    from tests.export.uci import UciError

    with pytest.raises(UciError):
        parse_uci(bad)


# --- DS-Lite and IPIP: OpenWrt's ds-lite package (tests/export/dslite_model.py) ------------


def softwire_sections(case: str) -> dict[str, dict[str, str]]:
    from tests.export.softwire_cases import render_softwire_case

    files = uci_files(render_softwire_case(case, "openwrt"))
    assert list(files) == ["/etc/config/network"]
    return {s.name or "": s.options for s in parse_uci(files["/etc/config/network"])}


@pytest.mark.parametrize(
    ("case", "section", "local", "remote", "ipv4", "peer"),
    [("dslite", "wands", None, "gw.aftr.example", "192.0.0.2", "192.0.0.1"),
     ("dslite-address", "wands", None, "2001:db8:ffff::1", "192.0.0.2", "192.0.0.1"),
     ("ipip-pd", "wanipip", "2001:db8:12:3400:1234:5678:9abc:def0", "2001:db8:ffff::2",
      "203.0.113.9", "0.0.0.0"),
     ("ipip-ra", "wanipip", "2001:db8:12:3400:1234:5678:9abc:def0", "2001:db8:ffff::2",
      "203.0.113.9", "0.0.0.0")],
)  # fmt: skip
def test_dslite_sh_builds_the_tunnel_mape_computes(
    case: str, section: str, local: str | None, remote: str, ipv4: str, peer: str
) -> None:
    from tests.export.dslite_model import NETIFD, READS, Tunnel, tunnel

    options = softwire_sections(case)[section]
    assert set(options) <= READS[options["proto"]] | NETIFD  # every option is one it reads
    device = ("ds-" if case.startswith("dslite") else "ipip6-") + section
    assert tunnel(section, options) == Tunnel(device, local, remote, ipv4, peer, 1460, 64, None)
    assert options["encaplimit"] == "ignore"  # explicit: one script version defaulted to 4


def test_the_ipip_tunnel_address_comes_from_subnet_0_or_the_ra() -> None:
    from tests.export.dslite_model import DHCPV6_READS

    pd = softwire_sections("ipip-pd")["wanipip"]
    assert (pd["ip6assign"], pd["ip6hint"], pd["ip6ifaceid"]) == (
        "64", "0", "::1234:5678:9abc:def0")  # fmt: skip
    ra = softwire_sections("ipip-ra")
    assert ra["wan6"] == {"ifaceid": "::1234:5678:9abc:def0"}
    assert set(ra["wan6"]) <= DHCPV6_READS
    assert "ip6assign" not in ra["wanipip"]
