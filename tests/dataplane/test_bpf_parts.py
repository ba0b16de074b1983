"""The bpf backend's pure parts: the maps' byte layout, counter names, the objects'
freshness and the choice among backends (no namespaces, no programs loaded)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest

from mapekit.core.errors import MapeError
from mapekit.core.tables import rules_from_document
from mapekit.dataplane import backend, bpfbuild, bpfmaps
from mapekit.lab.topology import LAB_RULES

RULES = rules_from_document(LAB_RULES, "lab")


def test_config_packs_as_the_c_struct_lays_it_out() -> None:
    packed = bpfmaps.Config(
        local6="2001:db8:12:3400:0:c000:212:34", br6="2001:db8:ffff::1", ipv4="192.0.2.18",
        ipv4_prefix_len=32, tun_ifindex=7, wan_ifindex=3, psid=0x34, psid_offset=6,
        psid_len=8,
    ).pack()  # fmt: skip
    assert len(packed) == 16 + 16 + 4 + 4 + 4 + 4 + 2 + 1 + 1 + 1 + 3  # struct mk_config
    assert packed[:16] == ipaddress.IPv6Address("2001:db8:12:3400:0:c000:212:34").packed
    assert packed[32:36] == bytes([192, 0, 2, 18]) and packed[36:40] == b"\xff" * 4
    assert int.from_bytes(packed[40:44], "little") == 7
    assert int.from_bytes(packed[48:50], "little") == 0x34 and packed[50:53] == bytes([6, 8, 64])


def test_a_rule_and_its_trie_key() -> None:
    (rule,) = RULES
    key, value = next(iter(bpfmaps.rule_entries(RULES).items()))
    assert key == (24).to_bytes(4, "little") + bytes([192, 0, 2, 0])  # prefixlen, address
    assert len(value) == 32  # struct mk_rule
    assert value[:16] == ipaddress.IPv6Address("2001:db8::").packed
    assert int.from_bytes(value[16:20], "little") == int(ipaddress.IPv4Address("192.0.2.0"))
    assert list(value[20:27]) == [40, 24, 16, 6, 8, 0, 0]  # n, r, o, a, k, RFC iid, no PSID
    assert rule.psid_len == 8


def test_counter_names_are_the_userspace_forwarders() -> None:
    names = bpfmaps.counter_names(bpfmaps.CE_DIRECTIONS)
    assert names[0] == "out" and names[16] == "in"
    assert names[16 + 5] == "in_drop_spoofed_source" and names[16 + 3] == "in_drop_port_outside_set"
    assert names[10] == "out_too_big"  # left to the slow path, not a drop
    raw = bpfmaps.COUNT.pack(3, 300) + bpfmaps.COUNT.pack(2, 200)  # two CPUs
    assert bpfmaps.sum_counts(raw, 2) == (5, 500)
    shown = bpfmaps.counters({0: (5, 500), 21: (2, 0), 17: (0, 0)}, bpfmaps.CE_DIRECTIONS)
    assert shown == {"in_drop_spoofed_source": 2, "out": 5, "out_bytes": 500}


def test_the_drop_reasons_are_the_checks(tmp_path: Path) -> None:
    from mapekit.dataplane.checks import Drop

    assert {d.value for d in Drop} <= set(bpfmaps.DROPS)
    header = (bpfbuild.SOURCES / "mapekit.h").read_text()
    for number, name in enumerate(bpfmaps.DROPS[1:], start=1):
        assert f"MK_{name.upper()} = {number}," in header, name


def test_an_object_is_fresh_only_for_the_sources_it_was_built_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = tmp_path / "ce.bpf.o"
    obj.write_bytes(b"\x7fELF")
    assert not bpfbuild._fresh(obj, "ce")  # no stamp
    (tmp_path / "ce.bpf.o.sha256").write_text(bpfbuild.digest("ce") + "\n")
    assert bpfbuild._fresh(obj, "ce")
    (tmp_path / "ce.bpf.o.sha256").write_text("0" * 64 + "\n")
    assert not bpfbuild._fresh(obj, "ce")  # the sources changed since


def test_without_objects_or_clang_the_backend_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bpfbuild, "SOURCES", tmp_path)  # no objects here, sources "missing"
    monkeypatch.setattr(bpfbuild, "source", lambda name: tmp_path / f"{name}.bpf.c")
    (tmp_path / "ce.bpf.c").write_text("/* */")
    (tmp_path / "br.bpf.c").write_text("/* */")
    monkeypatch.setenv("PATH", str(tmp_path))  # no clang
    why = bpfbuild.unavailable()
    assert why is not None and "ce.bpf.o" in why and "clang" in why
    monkeypatch.setattr(backend, "has_ip6tnl", lambda: False)
    name, reason = backend.choose_backend("auto")
    assert name == "userspace" and "bpf cannot run" in reason and "clang" in reason
    with pytest.raises(MapeError) as refused:
        backend.choose_backend("bpf")
    assert refused.value.reason.code == "dataplane.unsupported" and "clang" in refused.value.message


def test_auto_prefers_the_kernel_then_bpf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "bpf_unavailable", lambda: None)
    monkeypatch.setattr(backend, "has_ip6tnl", lambda: True)
    assert backend.choose_backend("auto") == ("kernel", "the kernel has ip6tnl")
    monkeypatch.setattr(backend, "has_ip6tnl", lambda: False)
    assert backend.choose_backend("auto")[0] == "bpf"
    assert backend.choose_backend("userspace")[0] == "userspace"


@pytest.mark.skipif(bpfbuild.clang_missing() is not None, reason="needs clang and libbpf-dev")
def test_the_sources_build(tmp_path: Path) -> None:
    done = bpfbuild.build_all(tmp_path)
    assert done == ["ce.bpf.o: built", "br.bpf.o: built"]
    for name in bpfbuild.PROGRAMS:
        obj = tmp_path / f"{name}.bpf.o"
        assert obj.read_bytes()[:4] == b"\x7fELF" and os.path.getsize(obj) > 1000
        assert (tmp_path / f"{name}.bpf.o.sha256").read_text().strip() == bpfbuild.digest(name)
