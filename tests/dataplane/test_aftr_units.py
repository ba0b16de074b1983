"""The pure parts of the lab's AFTR and IPIP endpoint: the softwire table's bounds and
expiry, the rulesets (checked by nft), the endpoint's peer lookups and its peer file."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapekit.core.errors import MapeError
from mapekit.dataplane import nft
from mapekit.dataplane.aftr import MAX_ZONE, SoftwireTable, element, render_aftr
from mapekit.dataplane.checks import Drop
from mapekit.dataplane.ipip_endpoint import IpipEndChecks, peer, read_peers, route_changes
from tests.netns import needs_root


def test_the_table_is_bounded_and_numbers_come_back_last() -> None:
    table = SoftwireTable(capacity=2, idle=10)
    assert table.open(0xA, 0) == 1 and table.open(0xB, 0) == 2
    assert table.open(0xC, 0) is None  # full
    table.touch(2, 8)
    assert table.expire(11) == [1]  # idle since 0; 2 was seen at 8
    assert table.lookup(0xA) is None and table.lookup(0xB) == 2
    assert table.open(0xC, 11) == 3  # round robin: 1 is not handed out again yet
    table.forget(3)
    assert len(table) == 1 and table.lookup(0xC) is None


def test_numbers_wrap_around_and_skip_those_in_use() -> None:
    table = SoftwireTable(capacity=3)
    table._next = MAX_ZONE
    assert table.open(1, 0) == MAX_ZONE
    assert table.open(2, 0) == 1
    table._next = MAX_ZONE
    assert table.open(3, 0) == 2  # MAX_ZONE and 1 are taken


def test_capacity_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="max_softwires"):
        SoftwireTable(capacity=0)


@given(st.lists(st.tuples(st.integers(0, 50), st.booleans()), max_size=200))
def test_the_table_never_exceeds_its_capacity(events: list[tuple[int, bool]]) -> None:
    table = SoftwireTable(capacity=8, idle=5)
    now = 0.0
    for b4, tick in events:
        now += 3 if tick else 0
        table.expire(now)
        if table.lookup(b4) is None:
            table.open(b4, now)
        assert len(table) <= 8
        assert len(set(table._b4.values())) == len(table)  # one number per B4


def test_the_ruleset_names_only_checked_interfaces() -> None:
    with pytest.raises(MapeError):
        render_aftr('inet0" accept; #')
    assert 'oifname "inet0"' in render_aftr("inet0")
    assert element("add", 7).count('"aftr7" : 7') == 2
    assert '"aftr7" }' in element("delete", 7)


@needs_root
def test_the_rulesets_load() -> None:
    nft.check(render_aftr("inet0"))


def ipv4(src: str, dst: str) -> bytes:
    import socket

    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0, socket.inet_aton(src),
                       socket.inet_aton(dst)) + b"\0" * 8  # fmt: skip


def test_the_endpoint_sends_to_the_longest_match_and_refuses_spoofing() -> None:
    a = peer("203.0.113.8/29", "2001:db8::a")
    b = peer("203.0.113.9/32", "2001:db8::b")
    checks = IpipEndChecks([a, b])
    assert checks.to_ce(ipv4("198.51.100.7", "203.0.113.9"), 0).packets[0][1] == int(b.local)
    assert checks.to_ce(ipv4("198.51.100.7", "203.0.113.10"), 0).packets[0][1] == int(a.local)
    assert checks.to_ce(ipv4("198.51.100.7", "203.0.113.99"), 0).drop is Drop.NO_RULE
    ok = checks.from_ce(ipv4("203.0.113.9", "198.51.100.7"), int(b.local), 0)
    assert ok.packets and ok.packets[0][1] is None
    spoof = checks.from_ce(ipv4("203.0.113.9", "198.51.100.7"), int(a.local), 0)
    assert spoof.drop is Drop.SPOOFED_SOURCE
    assert checks.from_ce(b"\x60" + b"\0" * 40, int(a.local), 0).drop is Drop.NOT_IPV4
    checks.replace([a])
    assert checks.to_ce(ipv4("198.51.100.7", "203.0.113.9"), 0).packets[0][1] == int(a.local)


def test_route_changes() -> None:
    a, b = peer("203.0.113.8/29", "2001:db8::a"), peer("203.0.113.9/32", "2001:db8::b")
    moved = peer("203.0.113.9/32", "2001:db8::c")
    assert route_changes([a, b], [b, moved]) == (set(), {"203.0.113.8/29"})
    assert route_changes([], [a]) == ({"203.0.113.8/29"}, set())


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("{", "peers"),
        ('{"ipv4": "x"}', "peers"),
        ('[{"ipv4": "203.0.113.9/33", "local": "2001:db8::1"}]', "ipv4"),
        ('[{"ipv4": "203.0.113.9/32", "local": "2001:db8::1::2"}]', "local"),
        ('[{"ipv4": "203.0.113.9/32"}]', "peers"),
    ],
)
def test_a_bad_peer_file_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "peers.json"
    path.write_text(text)
    with pytest.raises(MapeError) as caught:
        read_peers(path)
    assert caught.value.field == field


def test_a_peer_file_reads(tmp_path: Path) -> None:
    path = tmp_path / "peers.json"
    path.write_text(json.dumps([{"ipv4": "203.0.113.9/32", "local": "2001:db8::1"}]))
    assert [p.to_dict() for p in read_peers(path)] == [
        {"ipv4": "203.0.113.9/32", "local": "2001:db8::1"}
    ]
