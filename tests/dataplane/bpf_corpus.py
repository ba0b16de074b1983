"""The BPF programs against the Python checks (``dataplane/checks.py``) on a corpus of
packets: BPF_PROG_TEST_RUN runs ``mk_br_ingress`` and ``mk_ce_ingress`` on each (nothing
is sent), the per-CPU counters say what the program decided, and the verdict must be the
one the checks give — the same drop reason, or the same destination (for a hairpinned
packet, the same CE address). The CE also translates the ports of what it passes into
the NAT's virtual ones (``dataplane/portmap.py``): the packet it hands on must be, byte
for byte, the one ``PortMap.inbound`` makes. Run inside a namespace (it adds routes for
the hairpin); prints one JSON object: counts and the first mismatches.
"""

from __future__ import annotations

import ipaddress
import json
import random
import socket
import struct
import sys

from mapekit.core.errors import MapeError
from mapekit.core.tables import rules_from_document
from mapekit.dataplane import bpfbuild, bpfmaps, libbpf
from mapekit.dataplane.checks import BrChecks, CeChecks
from mapekit.dataplane.packets import parse
from mapekit.dataplane.portmap import whole_set_map

BR = "2001:db8:ffff::1"
RULES = [
    {"isp": "lab", "ipv6_prefix": "2001:db8::/40", "ipv4_prefix": "192.0.2.0/24",
     "ea_len": 16, "psid_offset": 6, "br": BR, "fmr": True},
    {"isp": "lab", "ipv6_prefix": "2001:db8:100::/40", "ipv4_prefix": "203.0.113.0/24",
     "ea_len": 16, "psid_offset": 4, "br": BR, "iid": "legacy", "fmr": True},
    {"isp": "lab", "ipv6_prefix": "2001:db8:200::/48", "ipv4_prefix": "198.18.0.0/24",
     "ea_len": 8, "psid_offset": 0, "br": BR},  # full IPv4 addresses: no port set
]  # fmt: skip
OUTSIDE = "198.51.100.7"
CTX = struct.Struct("<20I")  # struct __sk_buff up to ingress_ifindex (offset 36)


def ipv4(src: str, dst: str, proto: int, payload: bytes) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst)) + payload  # fmt: skip


def l4(rng: random.Random, sport: int, dport: int) -> tuple[int, bytes]:
    kind = rng.choice(("tcp", "udp", "echo", "error", "gre"))
    if kind in ("tcp", "udp"):
        header = struct.pack("!HH", sport, dport) + bytes(16 if kind == "tcp" else 4)
        return (6 if kind == "tcp" else 17), header + b"data"
    if kind == "echo":
        return 1, struct.pack("!BBHHH", 8, 0, 0, sport, 1) + b"ping"
    if kind == "error":  # port unreachable quoting a UDP packet that went the other way
        quoted = ipv4(OUTSIDE, "192.0.2.1", 17, struct.pack("!HHHH", dport, sport, 8, 0))
        return 1, struct.pack("!BBHI", 3, 3, 0, 0) + quoted
    return 47, b"\x00" * 8  # GRE: no port


def address_in(rng: random.Random, prefix: str) -> str:
    net = ipaddress.IPv4Network(prefix)
    return str(net.network_address + rng.randrange(net.num_addresses))


def outer(src6: int, dst6: str, inner: bytes) -> bytes:
    ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(inner), 4, 64,
                      src6.to_bytes(16, "big"), ipaddress.IPv6Address(dst6).packed)  # fmt: skip
    return b"\x02" * 6 + b"\x04" * 6 + b"\x86\xdd" + ip6 + inner


def counted(fd: int, cpus: int, directions: tuple[str, ...]) -> dict[str, int]:
    slots = {}
    for slot in range(bpfmaps.SLOTS):
        raw = libbpf.lookup(fd, slot.to_bytes(4, "little"), bpfmaps.COUNT.size * cpus)
        if raw is not None:
            slots[slot] = bpfmaps.sum_counts(raw, cpus)
    return bpfmaps.counters(slots, directions)


def moved(before: dict[str, int], after: dict[str, int]) -> str:
    changed = [k for k, v in after.items() if not k.endswith("_bytes") and v != before.get(k)]
    return changed[0] if len(changed) == 1 else f"?{changed}"


def load(role: str, config: bpfmaps.Config, rules: object) -> libbpf.BpfObject:
    path, _ = bpfbuild.object_for(role)
    obj = libbpf.BpfObject.load(str(path))
    libbpf.update(obj.map_fd("mk_config"), b"\0" * 4, config.pack())
    for key, value in bpfmaps.rule_entries(rules).items():  # type: ignore[arg-type]
        libbpf.update(obj.map_fd("mk_rules"), key, value)
    return obj


def owner(rules: object, address: str, port: int) -> int | None:
    try:
        return int(rules.reverse(int(ipaddress.IPv4Address(address)), port).ce_ipv6)  # type: ignore[attr-defined]
    except MapeError:
        return None


def br_case(rng: random.Random, rules: object) -> tuple[bytes, int]:
    rule = rng.choice(RULES)
    src = address_in(rng, rule["ipv4_prefix"]) if rng.random() < 0.9 else "100.64.0.1"
    sport = rng.randrange(65536)
    inside = rng.random() < 0.5
    dst = address_in(rng, rng.choice(RULES)["ipv4_prefix"]) if inside else OUTSIDE
    proto, payload = l4(rng, sport, rng.randrange(65536))
    right = owner(rules, src, sport)
    src6 = right if right is not None and rng.random() < 0.7 else rng.getrandbits(128)
    return ipv4(src, dst, proto, payload), src6


def run_br(rng: random.Random, count: int, found: dict[str, object]) -> None:
    rules = rules_from_document(RULES, "corpus")
    obj = load("br", bpfmaps.Config(local6=BR, tun_ifindex=1), rules)
    fd, counters = obj.program_fd("mk_br_ingress"), obj.map_fd("mk_counters")
    cpus = libbpf.possible_cpus()
    checks, bad, seen = BrChecks(rules), [], {}
    ctx = CTX.pack(*([0] * 9), 1, *([0] * 10))  # ingress_ifindex 1: the loopback
    for _ in range(count):
        inner, src6 = br_case(rng, rules)
        verdict = checks.from_ce(inner, src6, 0.0)
        before = counted(counters, cpus, bpfmaps.BR_DIRECTIONS)
        _, out, _ = libbpf.test_run(fd, outer(src6, BR, inner), ctx)
        got = moved(before, counted(counters, cpus, bpfmaps.BR_DIRECTIONS))
        peer = verdict.packets[0][1] if verdict.packets else None
        want = (f"from_ce_drop_{verdict.drop.value}" if verdict.drop is not None
                else "from_ce" if peer is None else "hairpin")  # fmt: skip
        if got == "hairpin" and int.from_bytes(out[38:54], "big") != peer:
            got = f"hairpin to {ipaddress.IPv6Address(out[38:54])}"
        seen[want] = seen.get(want, 0) + 1
        if got != want:
            bad.append({"inner": inner.hex(), "outer": f"{src6:032x}", "want": want, "got": got})
    obj.close()
    found["br"] = {"verdicts": seen, "mismatches": len(bad), "first": bad[:5]}


def run_ce(rng: random.Random, count: int, found: dict[str, object]) -> None:
    rules = rules_from_document(RULES, "corpus")
    prefix = ipaddress.IPv6Network("2001:db8:12:3400::/56")
    mapping = rules.map(int(prefix.network_address), 56)
    me = ipaddress.IPv6Address(mapping.ce_ipv6)
    obj = load("ce", bpfmaps.Config(
        local6=str(me), br6=BR, ipv4=str(ipaddress.IPv4Address(mapping.ipv4)), tun_ifindex=1,
        psid=mapping.psid, psid_offset=mapping.port_set.offset, psid_len=mapping.psid_len,
    ), [r for r in rules if r.fmr])  # fmt: skip
    port_map = whole_set_map(mapping.port_set)
    assert port_map is not None
    for key, value in bpfmaps.port_entries(port_map).items():
        libbpf.update(obj.map_fd("mk_ports"), key, value)
    fd, counters = obj.program_fd("mk_ce_ingress"), obj.map_fd("mk_counters")
    cpus = libbpf.possible_cpus()
    checks, bad, seen = CeChecks(mapping, rules), [], {}
    for _ in range(count):
        rule = rng.choice(RULES)
        src = address_in(rng, rule["ipv4_prefix"]) if rng.random() < 0.5 else OUTSIDE
        sport = rng.randrange(65536)
        dst = "192.0.2.18" if rng.random() < 0.8 else address_in(rng, "192.0.2.0/24")
        dport = rng.randrange(65536) if rng.random() < 0.5 else 1232 + rng.randrange(4)
        proto, payload = l4(rng, sport, dport)
        inner = ipv4(src, dst, proto, payload)
        right = owner(rules, src, sport)
        choice = rng.random()
        src6 = int(ipaddress.IPv6Address(BR)) if choice < 0.5 else (
            right if right is not None and choice < 0.8 else rng.getrandbits(128))  # fmt: skip
        verdict = checks.inbound(inner, src6, 0.0)
        want = "in" if verdict.drop is None else f"in_drop_{verdict.drop.value}"
        before = counted(counters, cpus, bpfmaps.CE_DIRECTIONS)
        _, out, _ = libbpf.test_run(fd, outer(src6, str(me), inner))
        got = moved(before, counted(counters, cpus, bpfmaps.CE_DIRECTIONS))
        if got == "in" == want:
            expected = port_map.inbound(inner, parse(inner))  # type: ignore[arg-type]
            if out[14:] != expected:
                got = f"in, but {out[14:].hex()} for {expected.hex()}"
            elif expected != inner:
                seen["translated"] = seen.get("translated", 0) + 1
        seen[want] = seen.get(want, 0) + 1
        if got != want:
            bad.append({"inner": inner.hex(), "outer": f"{src6:032x}", "want": want, "got": got})
    obj.close()
    found["ce"] = {"verdicts": seen, "mismatches": len(bad), "first": bad[:5]}


def main(count: int, seed: int) -> None:
    found: dict[str, object] = {}
    run_br(random.Random(seed), count, found)
    run_ce(random.Random(seed + 1), count, found)
    print(json.dumps(found))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
