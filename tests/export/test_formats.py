"""Every format on the RFC 7597 vector and the v6plus, BIGLOBE and OCN vectors: golden files,
the EXPERIMENTAL marker, and the values each format must carry."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mapekit.core.errors import MapeError
from mapekit.dataplane.nftables import render as render_nft
from mapekit.export import FORMATS, Mode, export, options_for, plan_for
from tests.export.vectors import VECTORS, mapping_for

GOLDEN = Path(__file__).parent / "golden"
# automatic modes, each on an operator its vendor's firmware knows
AUTO_CASES = [
    ("v6plus", "ix"),
    ("ocn", "ix"),
    ("v6plus", "rtx"),
    ("ocn", "rtx"),
    ("v6plus", "cisco-xe"),
    ("v6plus", "fortigate"),
    ("ocn", "fortigate"),
    ("v6plus", "awplus"),
]
CASES = [(v, f, "static") for v in VECTORS for f in FORMATS] + [
    (v, f, "auto") for v, f in AUTO_CASES
]


def render_case(vector: str, fmt: str, mode: str = "static", **extra: str) -> str:
    mapping, rules = mapping_for(vector)
    options = options_for(FORMATS[fmt], mode=Mode(mode), forwards=VECTORS[vector][1], **extra)
    return export(fmt, mapping, options, rules)


@pytest.mark.parametrize(("vector", "fmt", "mode"), CASES)
def test_golden(vector: str, fmt: str, mode: str) -> None:
    text = render_case(vector, fmt, mode)
    suffix = "" if mode == "static" else "-auto"
    path = GOLDEN / f"{vector}-{fmt}{suffix}.txt"
    if os.environ.get("MAPEKIT_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.read_text() == text, f"regenerate with MAPEKIT_UPDATE_GOLDEN=1 ({path})"


@pytest.mark.parametrize(("vector", "fmt", "mode"), CASES)
def test_experimental_formats_say_so_first(vector: str, fmt: str, mode: str) -> None:
    text = render_case(vector, fmt, mode)
    marked = FORMATS[fmt].experimental(Mode(mode))
    first = text.splitlines()[1 if fmt == "linux" else 0]
    assert ("EXPERIMENTAL" in first) is marked
    assert ("EXPERIMENTAL" in text) is marked
    if marked:
        assert "EXPERIMENTAL" in FORMATS[fmt].label


def test_experimental_labels() -> None:
    labels = {name: fmt.label for name, fmt in FORMATS.items()}
    assert all("EXPERIMENTAL" not in labels[n] for n in ("openwrt", "linux", "networkd", "json"))
    assert all(labels[n].endswith("(EXPERIMENTAL)") for n in ("ix", "rtx", "cisco-xe", "awplus"))
    assert labels["fortigate"].endswith("(static mode EXPERIMENTAL)")


@pytest.mark.parametrize("vector", sorted(VECTORS))
def test_every_format_carries_the_computed_values(vector: str) -> None:
    mapping, _ = mapping_for(vector)
    d = mapping.to_dict()
    for fmt in FORMATS:
        text = render_case(vector, fmt)
        if fmt != "awplus":  # AlliedWare Plus computes the address from the rule itself
            assert str(d["ipv4"]) in text, fmt
        assert str(mapping.rule.br) in text, fmt
        if fmt in ("linux", "networkd", "rtx", "fortigate", "ix"):
            assert str(d["ce_ipv6"]) in text, fmt


def test_openwrt_options() -> None:
    text = render_case("v6plus", "openwrt")
    for line in (
        "config interface 'wanmap'", "\toption proto 'map'",
        "\toption peeraddr '2404:9200:225:100::64'", "\toption ipaddr '106.72.0.0'",
        "\toption ip4prefixlen '15'", "\toption ip6prefix '240b:10::'",
        "\toption ip6prefixlen '31'", "\toption ealen '25'", "\toption psidlen '8'",
        "\toption offset '4'", "\toption legacymap '1'", "\toption mtu '1460'",
        "\toption encaplimit 'ignore'", "\toption tunlink 'wan6'",
        "\toption position 'ruleset-prepend'",
    ):  # fmt: skip
        assert line in text.splitlines()
    assert 'oifname "map-wanmap"' in text
    assert "config interface 'wan6'" not in text  # a /56 from DHCPv6-PD
    rfc = render_case("rfc", "openwrt")
    assert "legacymap" not in rfc  # a command-line rule uses the RFC interface id


def test_openwrt_ra_only_line_sets_ip6prefix_on_wan6() -> None:
    mapping, rules = mapping_for("v6plus")
    from mapekit.core.addr import parse_end_user_prefix

    ra = rules.map(*parse_end_user_prefix("240b:10:3f6c:d400::/64"))
    text = export("openwrt", ra, options_for(FORMATS["openwrt"]), rules)
    lines = text.splitlines()
    at = lines.index("config interface 'wan6'")
    assert lines[at + 1] == "\toption ip6prefix '240b:10:3f6c:d400::/64'"
    assert mapping.ipv4 == ra.ipv4


def test_nft_parts_are_the_one_generator() -> None:
    mapping, rules = mapping_for("v6plus")
    for name in ("openwrt", "linux", "networkd", "json"):
        fmt = FORMATS[name]
        options = options_for(fmt, forwards=VECTORS["v6plus"][1])
        ruleset = render_nft(plan_for(fmt, mapping, options, rules))
        text = export(name, mapping, options, rules)
        if name == "json":
            assert json.loads(text)["nft"] == ruleset
        else:
            assert ruleset in text


def test_json_document() -> None:
    doc = json.loads(render_case("ocn", "json"))
    assert set(doc) == {"mapping", "plan", "nft"}
    assert doc["mapping"]["ipv4"] == "153.240.22.159"
    assert doc["plan"]["tunnel"]["encap_limit"] == "none"
    assert doc["plan"]["forwards"] == ["tcp:1890=192.168.1.10:443"]
    assert doc["nft"].startswith("# generated by mapekit")


def test_vendor_forwards_are_static_nat_entries() -> None:
    assert "nat descriptor masquerade static 1000 1 192.168.1.10 tcp 7490=22" in render_case(
        "v6plus", "rtx"
    )
    assert "ip napt service fwd-tcp-7490 192.168.1.10 none tcp 7490 22" in render_case(
        "v6plus", "ix"
    )
    fortigate = render_case("v6plus", "fortigate")
    assert "        set extport 7490\n        set mappedport 22\n" in fortigate
    assert "ip nat inside source static tcp 192.168.1.10 22 106.72.63.108 7490 extendable" in (
        render_case("v6plus", "cisco-xe")
    )
    assert "portfwd udp from public with dst public.wan dport 11590" in render_case(
        "v6plus", "awplus"
    )


def test_static_nat_stays_inside_the_port_set() -> None:
    rtx = render_case("v6plus", "rtx")
    assert "nat descriptor masquerade port range 1000 7488-7489 7491-7503 11584-11589" in rtx
    fortigate = render_case("v6plus", "fortigate")
    assert fortigate.count("set startport") == 17  # 15 blocks, two split by forwards
    cisco = render_case("ocn", "cisco-xe")
    assert "port-parameters share-ratio 64 start-port 1024" in cisco


def test_ix_voip_bridge() -> None:
    text = render_case("v6plus", "ix", voip_bridge="GigaEthernet2.0")
    assert "bridge irb enable" in text
    assert "interface GigaEthernet2.0\n  bridge-group 1\n" in text
    assert "interface BVI1\n  no ip address\n  ipv6 enable\n" in text


@pytest.mark.parametrize(
    ("vector", "fmt"), [("rfc", "ix"), ("biglobe", "rtx"), ("ocn", "cisco-xe"), ("rfc", "awplus")]
)
def test_auto_mode_needs_an_operator_the_vendor_knows(vector: str, fmt: str) -> None:
    with pytest.raises(MapeError) as info:
        render_case(vector, fmt, "auto")
    assert info.value.reason_code == "usage.invalid_arguments"
    assert info.value.field == "mode"
    assert "--mode static" in info.value.message


def test_header_never_echoes_an_odd_operator_name() -> None:
    from dataclasses import replace

    mapping, _ = mapping_for("rfc")
    odd = replace(mapping, rule=replace(mapping.rule, isp="x\nreload in 1"))
    text = export("ix", odd, options_for(FORMATS["ix"]))
    assert "reload" not in text
    assert "operator from a rule file" in text
