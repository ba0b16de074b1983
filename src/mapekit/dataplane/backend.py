"""One protocol for every CE data plane, and the choice among them.

A backend makes a :class:`~mapekit.dataplane.plan.Plan` exist (``up``), says what of it is
gone (``missing``, read-only), puts back exactly that (``repair``), counts (``counters``)
and removes what it made (``down``). The agent picks one once (``choose_backend``) and
talks to it only through this protocol.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import ClassVar, Protocol

from mapekit.core.errors import MapeError
from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane import bpfbuild, bpffs, libbpf
from mapekit.dataplane.bpf import BpfBackend
from mapekit.dataplane.kernel import KernelBackend
from mapekit.dataplane.links import has_ip6tnl
from mapekit.dataplane.plan import Plan
from mapekit.dataplane.softwire import TunnelPlan
from mapekit.dataplane.userspace import UserspaceBackend

BACKENDS = ("auto", "kernel", "bpf", "userspace")


class Backend(Protocol):
    name: ClassVar[str]

    def up(
        self, plan: TunnelPlan, mapping: Mapping | None = None, rules: RuleSet | None = None
    ) -> list[str]:
        """Bring ``plan`` up (idempotent); notes on what was decided."""

    def retable(self, plan: TunnelPlan) -> list[str]:
        """Apply ``plan``, which differs from the applied one only in what the nftables
        ruleset holds (port forwards, the port policy): the tables are replaced, nothing
        else is touched."""

    def missing(self) -> list[str]:
        """What of the applied plan is gone or changed (empty when healthy); reads only."""

    def repair(self, missing: list[str]) -> list[str]:
        """Put back what ``missing`` names."""

    def counters(self) -> dict[str, int]:
        """Packets, bytes and drops per reason, when the backend counts them."""

    def down(self, keep_tunnel: bool = False) -> None:
        """Remove what ``up`` made (``keep_tunnel``: leave a kernel tunnel up)."""


def bpf_unavailable() -> str | None:
    """None when the bpf backend can run here, else why not (no object and no clang to
    build one, or no libbpf)."""
    return bpfbuild.unavailable() or libbpf.missing()


def _unsupported(message: str) -> MapeError:
    return MapeError("dataplane.unsupported", message, field="dataplane.backend")


def choose_backend(wanted: str) -> tuple[str, str]:
    """The backend to use and why: ``auto`` takes kernel ip6tnl, then bpf, then the
    userspace forwarder, the first that can run here."""
    kernel = has_ip6tnl()
    if wanted == "kernel":
        if not kernel:
            raise _unsupported("dataplane.backend: this kernel has no ip6tnl; use backend = auto")
        return "kernel", "chosen in the configuration"
    if wanted == "bpf":
        why = bpf_unavailable()
        if why is not None:
            raise _unsupported(f"dataplane.backend: bpf cannot run here: {why}")
        return "bpf", "chosen in the configuration"
    if wanted == "userspace":
        return "userspace", "chosen in the configuration"
    if kernel:
        return "kernel", "the kernel has ip6tnl"
    why = bpf_unavailable()
    if why is None:
        return "bpf", "the kernel has no ip6tnl; tc-BPF can run"
    return "userspace", f"the kernel has no ip6tnl, and bpf cannot run: {why}"


def make_backend(
    name: str,
    replace_default_route: bool = False,
    stats_path: Path | None = None,
    bpffs_root: Path = bpffs.DEFAULT_ROOT,
) -> Backend:
    if name == "kernel":
        return KernelBackend(replace_default_route)
    if name == "bpf":
        return BpfBackend(replace_default_route, bpffs_root)
    return UserspaceBackend(replace_default_route, stats_path)


def same_but_ruleset(old: TunnelPlan, new: TunnelPlan) -> bool:
    """True when only the nftables ruleset differs between the plans."""
    if not isinstance(old, Plan) or not isinstance(new, Plan):
        return False
    return (
        replace(old, forwards=new.forwards, pool=new.pool, policy=new.policy, port_map=new.port_map)
        == new
    )
