"""Port sets: known shapes and the RFC 7597 §5.1 properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mapekit.core.portset import PortSet


def test_v6plus_shape() -> None:
    ports = PortSet(offset=4, psid_len=8, psid=212)
    assert (ports.count, ports.block_count, ports.block_size) == (240, 15, 16)
    assert 7488 in ports and 7503 in ports and 7504 not in ports and 7487 not in ports
    assert ports.block_of(11590) == 1
    assert ports.block_of(80) is None
    assert ports.nearest(8080) == [7503, 11584]


def test_unshared_address_owns_every_port() -> None:
    ports = PortSet(offset=6, psid_len=0, psid=0)
    assert list(ports.ranges()) == [(0, 65535)]
    assert len(ports) == 65536 and 0 in ports and 65535 in ports


def test_offset_zero_is_one_contiguous_block() -> None:
    ports = PortSet(offset=0, psid_len=6, psid=1)
    assert list(ports.ranges()) == [(1024, 2047)]


def test_membership_rejects_non_ports() -> None:
    ports = PortSet(4, 8, 0)
    assert -1 not in ports and 65536 not in ports and "80" not in ports


def test_iteration_is_lazy() -> None:
    it = iter(PortSet(0, 0, 0))
    assert next(it) == 0  # a generator: no list of 65,536 ports is built


@st.composite
def shapes(draw: st.DrawFn) -> tuple[int, int]:
    offset = draw(st.integers(0, 15))
    return offset, draw(st.integers(1, 16 - offset))


@given(shapes())
def test_psids_of_one_address_are_disjoint_and_cover_the_non_excluded_ports(
    shape: tuple[int, int],
) -> None:
    offset, k = shape
    excluded = (1 << (16 - offset)) if offset else 0
    covered = bytearray(65536)  # exact: every port marked by at most one PSID
    for psid in range(1 << k):
        for first, last in PortSet(offset, k, psid).ranges():
            assert not any(covered[first : last + 1])
            covered[first : last + 1] = b"\x01" * (last - first + 1)
    assert covered == b"\x00" * excluded + b"\x01" * (65536 - excluded)


@given(shapes(), st.data())
def test_membership_agrees_with_ranges(shape: tuple[int, int], data: st.DataObject) -> None:
    offset, k = shape
    ports = PortSet(offset, k, data.draw(st.integers(0, (1 << k) - 1)))
    port = data.draw(st.integers(0, 65535))
    in_ranges = any(a <= port <= b for a, b in ports.ranges())
    assert (port in ports) is in_ranges
    assert (ports.block_of(port) is not None) is in_ranges
