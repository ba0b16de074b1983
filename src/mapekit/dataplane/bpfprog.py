"""One role's BPF programs, from object file to attached filters and back.

:class:`Programs` loads ``ce.bpf.o`` or ``br.bpf.o`` (libbpf), pins its maps and programs
under ``<bpffs>/mapekit/<name>/``, fills the configuration and rule maps, attaches the
programs as tc filters (direct action) at mapekit's handle and priority, reads the
counters, and removes all of it again. A run first removes what a crashed run left: its
pin folder, and every filter at the role's handle and priority in the namespace
(:func:`sweep`).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mapekit.core.rule import MappingRule
from mapekit.dataplane import bpfbuild, bpffs, bpfmaps, libbpf
from mapekit.dataplane.links import interfaces
from mapekit.dataplane.portmap import PortMap

HANDLE = 0x4D4B  # "MK"
PRIORITY = {"ce": 0x4D4B, "br": 0x4D4C}  # one per role: a CE and a BR may share a host
POINTS = {"ingress": libbpf.TC_INGRESS, "egress": libbpf.TC_EGRESS}
PROGRAMS = {"ce": ("mk_ce_egress", "mk_ce_ingress"), "br": ("mk_br_egress", "mk_br_ingress")}
SHARED_MAPS = ("mk_config", "mk_counters", "mk_rules", "mk_frags")
MAPS = {"ce": (*SHARED_MAPS, "mk_ports"), "br": SHARED_MAPS}
ZERO = (0).to_bytes(4, "little")


def sweep(role: str) -> list[str]:
    """Detach every filter at ``role``'s handle and priority in this namespace (what a
    crashed run left attached); says where."""
    found = []
    for iface in interfaces():
        for point_name, point in POINTS.items():
            if libbpf.tc_query(iface.index, point, HANDLE, PRIORITY[role]) is not None:
                libbpf.tc_detach(iface.index, point, HANDLE, PRIORITY[role])
                found.append(f"{iface.name} {point_name}")
    return found


@dataclass(frozen=True)
class Attachment:
    device: str
    ifindex: int
    point: str  # ingress | egress
    program: str
    prog_id: int


@dataclass
class Programs:
    """A role's loaded object (``role`` "ce" or "br"), pinned in ``pins``."""

    role: str
    pins: Path | None  # None: no bpffs here, nothing pinned
    obj: libbpf.BpfObject
    mounted: bool  # bpffs was mounted by this run (and is unmounted by :meth:`close`)
    root: Path
    left: list[str] = field(default_factory=list)  # what a previous run had left
    unpinned: str | None = None  # why nothing is pinned (no bpffs)
    attached: list[Attachment] = field(default_factory=list)
    rule_keys: set[bytes] = field(default_factory=set)
    port_keys: set[bytes] = field(default_factory=set)

    @classmethod
    def load(cls, role: str, name: str, root: Path = bpffs.DEFAULT_ROOT,
             frag_entries: int = 8192) -> Programs:  # fmt: skip
        """Load and pin ``role``'s object; its pin folder is ``<root>/mapekit/<name>``."""
        folder = bpffs.prepare(root, name)
        pins, mounted = folder.path, folder.mounted
        left = [*folder.left, *(f"filter on {where}" for where in sweep(role))]
        path, scratch = bpfbuild.object_for(role)
        try:
            obj = libbpf.BpfObject.load(str(path), {"mk_frags": frag_entries})
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        programs = cls(role, pins, obj, mounted, root, left, unpinned=folder.why)
        if pins is not None:
            for map_name in MAPS[role]:
                obj.pin_map(map_name, str(pins / map_name))
            for program in PROGRAMS[role]:
                obj.pin_program(program, str(pins / program))
        return programs

    # --- maps ------------------------------------------------------------------------

    def configure(self, config: bpfmaps.Config) -> None:
        libbpf.update(self.obj.map_fd("mk_config"), ZERO, config.pack())

    def set_rules(self, rules: Iterable[MappingRule]) -> tuple[int, int]:
        """Make the rule trie hold exactly ``rules`` (entries updated in place, live);
        returns (entries written, entries removed)."""
        fd = self.obj.map_fd("mk_rules")
        wanted = bpfmaps.rule_entries(rules)
        for key, value in wanted.items():
            libbpf.update(fd, key, value)
        stale = self.rule_keys - set(wanted)
        for key in stale:
            libbpf.delete(fd, key)
        self.rule_keys = set(wanted)
        return len(wanted), len(stale)

    def set_ports(self, port_map: PortMap | None) -> int:
        """Make the CE's port translation hold exactly ``port_map`` (empty: none);
        returns the entries written."""
        fd = self.obj.map_fd("mk_ports")
        wanted = bpfmaps.port_entries(port_map)
        for key, value in wanted.items():
            libbpf.update(fd, key, value)
        for key in self.port_keys - set(wanted):
            libbpf.delete(fd, key)
        self.port_keys = set(wanted)
        return len(wanted)

    def counters(self, directions: tuple[str, ...]) -> dict[str, int]:
        fd = self.obj.map_fd("mk_counters")
        cpus = libbpf.possible_cpus()
        slots = {}
        for slot in range(bpfmaps.SLOTS):
            raw = libbpf.lookup(fd, slot.to_bytes(4, "little"), bpfmaps.COUNT.size * cpus)
            if raw is not None:
                slots[slot] = bpfmaps.sum_counts(raw, cpus)
        return bpfmaps.counters(slots, directions)

    # --- filters ---------------------------------------------------------------------

    def attach(self, device: str, ifindex: int, point: str, program: str) -> Attachment:
        fd = self.obj.program_fd(program)
        prog_id = libbpf.tc_attach(ifindex, POINTS[point], fd, HANDLE, PRIORITY[self.role])
        found = Attachment(device, ifindex, point, program, prog_id)
        self.attached = [a for a in self.attached if (a.ifindex, a.point) != (ifindex, point)]
        self.attached.append(found)
        return found

    def detached(self) -> list[Attachment]:
        """The attachments no longer in place (reads only)."""
        return [
            a
            for a in self.attached
            if libbpf.tc_query(a.ifindex, POINTS[a.point], HANDLE, PRIORITY[self.role]) != a.prog_id
        ]

    def detach(self, ifindex: int) -> None:
        for a in [a for a in self.attached if a.ifindex == ifindex]:
            libbpf.tc_detach(a.ifindex, POINTS[a.point], HANDLE, PRIORITY[self.role])
        self.attached = [a for a in self.attached if a.ifindex != ifindex]

    def pinned_where(self) -> str:
        return str(self.pins) if self.pins is not None else f"nothing ({self.unpinned})"

    def describe(self) -> dict[str, object]:
        """What runs, for status lines and tests: ids, attachments and the pin folder."""
        return {
            "pins": None if self.pins is None else str(self.pins),
            "programs": [
                {"program": a.program, "id": a.prog_id, "device": a.device, "hook": a.point}
                for a in self.attached
            ],
            "maps": {name: self._map_info(name) for name in MAPS[self.role]},
        }

    def _map_info(self, name: str) -> dict[str, int]:
        """The map's id and the kernel memory charged for it (``memlock`` in fdinfo)."""
        fd = self.obj.map_fd(name)
        info = {"id": libbpf.object_id(fd), "memlock": 0}
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/self/fdinfo/{fd}").read_text().splitlines():
                if line.startswith("memlock:"):
                    info["memlock"] = int(line.split()[1])
        return info

    def close(self) -> None:
        """Detach every filter, close the object, unpin: nothing of this run is left."""
        for a in self.attached:
            libbpf.tc_detach(a.ifindex, POINTS[a.point], HANDLE, PRIORITY[self.role])
        self.attached = []
        self.obj.close()
        if self.pins is not None:
            bpffs.clear(self.pins)
        if self.mounted and not any(self.root.iterdir()):
            bpffs.unmount(self.root)
            self.mounted = False
