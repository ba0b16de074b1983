"""What OpenWrt derives from the options `mape export --format openwrt` writes: recorded vectors.

Source: OpenWrt's package ``map`` (openwrt/openwrt, package/network/ipv6/map):
``files/map.sh`` joins the UCI options into one rule string, in this order —
``type=map-e,ipv6prefix=<ip6prefix>,prefix6len=<ip6prefixlen>,ipv4prefix=<ipaddr>,
prefix4len=<ip4prefixlen>`` then ``,psid=`` ``,psidlen=`` ``,offset=`` ``,ealen=`` (each
only when set) and ``,br=<peeraddr>`` — and runs ``LEGACY=<legacymap> mapcalc <tunlink>
<rule>``; OpenWrt's ``mapcalc.c`` then, for the delegated prefix it finds under ``tunlink``:

- ``ealen`` counts every EA bit, PSID bits included: the IPv4 suffix is the ``ealen -
  psidlen`` bits after ``prefix6len``; a ``psid`` given in the rule is left-aligned in 16
  bits (it is shifted right by ``16 - psidlen``); without one, the PSID is the last
  ``psidlen`` EA bits;
- the CE address puts IPv4 and PSID at byte 10 (RFC 7597) or byte 9 (``LEGACY=1``);
- ``RULE_<n>_PORTSETS`` lists, for A = 1 … 2^offset - 1, ``(A << (16 - offset)) | (psid
  >> offset)`` to that plus 2^(16 - offset - psidlen) - 1.

The values below were derived by following those steps for each rule string, bit by bit
(a throw-away step-by-step model of mapcalc.c's byte operations, run outside this
repository, and checked by hand for the RFC 7597 and v6plus vectors); they were not
produced by mapekit. Before the export counted the PSID bits in ``ealen``, the explicit /32
rule was exported with ``ealen 0`` and ``psid 52``: mapcalc rejects ``ealen < psidlen``
("Skipping invalid or incomplete rule"); the /24 one with ``ealen 8``, from which mapcalc
takes 0 IPv4 bits and derives 192.0.2.0.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpenWrtVector:
    vector: str  # tests/export/vectors.py
    rule: str  # the string map.sh hands to mapcalc
    legacy: int  # LEGACY= (legacymap)
    ipv4: str  # RULE_1_IPV4ADDR
    ce: str  # RULE_1_IPV6ADDR
    psid: int  # the PSID mapcalc ends with, right-aligned
    ranges: int  # how many RULE_1_PORTSETS entries
    first: str  # the first and the last of them
    last: str


VECTORS = (
    OpenWrtVector(
        "v6plus",
        "type=map-e,ipv6prefix=240b:10::,prefix6len=31,ipv4prefix=106.72.0.0,prefix4len=15,"
        "psidlen=8,offset=4,ealen=25,br=2404:9200:225:100::64",
        1, "106.72.63.108", "240b:10:3f6c:d400:6a:483f:6c00:d400", 212, 15,
        "7488-7503", "64832-64847",
    ),
    OpenWrtVector(
        "ocn",
        "type=map-e,ipv6prefix=2400:4050:400::,prefix6len=38,ipv4prefix=153.240.16.0,"
        "prefix4len=20,psidlen=6,offset=6,ealen=18,br=2001:380:a120::9",
        1, "153.240.22.159", "2400:4050:5a7:f600:99:f016:9f00:3600", 54, 63,
        "1888-1903", "65376-65391",
    ),
    OpenWrtVector(
        "biglobe",
        "type=map-e,ipv6prefix=2404:7a82:400::,prefix6len=38,ipv4prefix=125.196.212.0,"
        "prefix4len=22,psidlen=8,offset=4,ealen=18,br=2001:260:700:1::1:275",
        1, "125.196.212.171", "2404:7a82:4ab:cd00:7d:c4d4:ab00:cd00", 205, 15,
        "7376-7391", "64720-64735",
    ),
    OpenWrtVector(
        "rfc",
        "type=map-e,ipv6prefix=2001:db8::,prefix6len=40,ipv4prefix=192.0.2.0,prefix4len=24,"
        "psidlen=8,offset=6,ealen=16,br=2001:db8:ffff::1",
        0, "192.0.2.18", "2001:db8:12:3400:0:c000:212:34", 52, 63, "1232-1235", "64720-64723",
    ),
    OpenWrtVector(
        "explicit32",
        "type=map-e,ipv6prefix=2001:db8:12::,prefix6len=48,ipv4prefix=192.0.2.18,"
        "prefix4len=32,psid=13312,psidlen=8,offset=6,ealen=8,br=2001:db8:ffff::1",
        0, "192.0.2.18", "2001:db8:12:3400:0:c000:212:34", 52, 63, "1232-1235", "64720-64723",
    ),
    OpenWrtVector(
        "explicit24",
        "type=map-e,ipv6prefix=2001:db8::,prefix6len=40,ipv4prefix=192.0.2.0,prefix4len=24,"
        "psid=13312,psidlen=8,offset=6,ealen=16,br=2001:db8:ffff::1",
        0, "192.0.2.18", "2001:db8:12:3400:0:c000:212:34", 52, 63, "1232-1235", "64720-64723",
    ),
)  # fmt: skip
