"""A BR with tc-BPF (``mape br --backend bpf``): the userspace BR's checks at kernel speed.

The MAP domain's IPv4 prefixes are routed into a TUN device; a BPF program on its tc
egress encapsulates each packet to the CE owning its destination address and port (the
rules in an LPM trie). A BPF program on the tc ingress of every interface CEs reach the
BR on checks packets for the BR address (outer source = the CE of the inner source
address and port), and decapsulates them into the TUN's ingress, or re-addresses them to
another CE (hairpin). Stateless apart from the bounded fragment map: several BRs with
the same rules and address can share the load (docs/dataplane.md, "Scale-out").
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mapekit.core.ruleset import RuleSet
from mapekit.dataplane import bpffs, bpfmaps, nft
from mapekit.dataplane.bpfprog import Programs
from mapekit.dataplane.checks import BrChecks
from mapekit.dataplane.forwarder import Stats
from mapekit.dataplane.links import (
    enable_ipv4_forwarding,
    ensure_address,
    ensure_route,
    interfaces,
    link_index,
    open_tun,
    remove_address,
    set_link,
    set_sysctl,
)
from mapekit.dataplane.slowpath import SlowPath, first_peer

FRAG_ENTRIES = 65536  # fragmented datagrams followed at once (LRU: the oldest go first)


@dataclass
class BpfBr:
    """A BR for ``rules`` at ``address`` over tc-BPF; ``listen``: the interfaces CEs
    reach it on (empty: every interface of the namespace at start)."""

    rules: RuleSet
    address: str
    tun: str = "mapebr0"
    mtu: int = 1460
    bpffs_root: Path = bpffs.DEFAULT_ROOT
    listen: Sequence[str] = ()
    programs: Programs | None = None
    stats: Stats = field(default_factory=Stats)
    _fd: int | None = None
    _slow: SlowPath | None = None

    def up(self, device: str | None = None, prefixes: Sequence[str] = ()) -> list[str]:
        """Bring the BR up; notes on what runs where."""
        enable_ipv4_forwarding()
        set_sysctl("net.ipv6.conf.all.forwarding", "1")  # the FIB lookups forward
        self._fd = open_tun(self.tun)
        try:
            set_link(self.tun, mtu=self.mtu)
            set_sysctl(f"net.ipv4.conf.{self.tun}.rp_filter", "0")
            set_sysctl(f"net.ipv4.conf.{self.tun}.send_redirects", "0")
            if device is not None:
                ensure_address(device, self.address, 128)
            for prefix in prefixes or sorted({str(r.ipv4_prefix) for r in self.rules}):
                ensure_route(prefix, self.tun)
            self.programs = Programs.load("br", f"br-{self.tun}", self.bpffs_root, FRAG_ENTRIES)
            tun_index = link_index(self.tun) or 0
            self.programs.configure(bpfmaps.Config(local6=self.address, tun_ifindex=tun_index))
            self.programs.set_rules(self.rules)
            self.programs.attach(self.tun, tun_index, "egress", "mk_br_egress")
            for iface in interfaces():
                if iface.name != self.tun and (not self.listen or iface.name in self.listen):
                    self.programs.attach(iface.name, iface.index, "ingress", "mk_br_ingress")
            checks = BrChecks(self.rules)
            self._slow = SlowPath(
                self.tun, self._fd, self.address, self.stats,
                peer=lambda data, now: first_peer(checks.to_ce(data, now)),
            )  # fmt: skip
            self._slow.start()
        except BaseException:
            self.down(device)
            raise
        left, pins = self.programs.left, self.programs.pinned_where()
        return [
            *([f"removed what a previous run left: {', '.join(left)}"] if left else []),
            f"bpf: {len(self.programs.attached)} programs attached; pinned in {pins}",
        ]

    def set_rules(self, rules: RuleSet) -> tuple[int, int]:
        """Replace the rule set live (the trie is updated entry by entry)."""
        assert self.programs is not None
        self.rules = rules
        for prefix in sorted({str(r.ipv4_prefix) for r in rules}):
            ensure_route(prefix, self.tun)
        return self.programs.set_rules(rules)

    def counters(self) -> dict[str, int]:
        found = self.programs.counters(bpfmaps.BR_DIRECTIONS) if self.programs else {}
        found.update(self.stats.to_dict())
        return dict(sorted(found.items()))

    def describe(self) -> dict[str, object]:
        return self.programs.describe() if self.programs is not None else {}

    def down(self, device: str | None = None) -> None:
        """Remove every filter, program, map and pin, the TUN and the address."""
        if self.programs is not None:
            self.programs.close()
            self.programs = None
        if self._slow is not None:
            self._slow.close()
            self._slow = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if device is not None:
            remove_address(device, self.address, 128)
        nft.delete_table("mapekit_br_guard", family="ip6")  # a userspace BR's, if left
