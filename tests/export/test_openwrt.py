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
