"""Real-shaped provisioning replies (docs/design.md §3), shared by codec and driver tests."""

from __future__ import annotations

import json

V6PLUS_RULES = [
    {"ipv6": f"240b:{hi:x}::/32", "ipv4": ipv4, "psid_offset": 4, "ea_length": 24}
    for hi, ipv4 in [
        (0x10, "106.72.0.0/16"), (0x11, "106.73.0.0/16"), (0x12, "14.8.0.0/16"),
        (0x13, "14.9.0.0/16"), (0x250, "14.10.0.0/16"), (0x251, "14.11.0.0/16"),
        (0x252, "14.12.0.0/16"), (0x253, "14.13.0.0/16"),
    ]
]  # fmt: skip
USER_ID = "0123456789abcdef0123456789abcdef"
JPNE_FULL = {
    "dmr": "2404:9200:225:100::64",
    "id": USER_ID,
    "ipv6_fixlen": 56,
    "fmr": V6PLUS_RULES,
}


def jsonp(callback: str, obj: object) -> bytes:
    return f"{callback}({json.dumps(obj)})".encode()


OCN_FULL = {
    "basicMapRules": [
        {
            "brIpv6Address": "2001:380:a120::9",
            "ipv6Prefix": "2400:4050:400::",
            "ipv6PrefixLength": 38,
            "ipv4Prefix": "153.240.16.0",
            "ipv4PrefixLength": 20,
            "eaBitLength": 18,
            "psIdOffset": 6,
        }
    ]
}

HB46PP_FULL = {
    "enabler_name": "lab enabler",
    "service_name": "lab MAP-E",
    "isp_name": "lab ISP",
    "ttl": 86400,
    "token": "ab" * 32,
    "order": ["map_e", "dslite"],
    "map_e": {
        "version": 1,
        "mesh": 1,
        "br": "2001:db8:ffff::1",
        "rules": [
            {"ipv6": "2001:db8::/40", "ipv4": "192.0.2.0/24", "ea_length": 16, "psid_offset": 6}
        ],
    },
    "dslite": {"aftr": "2001:db8:ffff::2"},
    "unknown_key": {"ignored": True},
}
