"""The kernel backend against a real kernel with ip6tnl: Debian's kernel package in a qemu
VM (docs/design.md §6), running tests/dataplane/vm_kernel.py inside it. The same script runs
directly on hosts whose kernel has ip6tnl. And the bpf backend on that kernel (Debian
12's 6.1): tests/dataplane/vm_bpf.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mapekit.dataplane.links import has_ip6tnl
from mapekit.lab import vm
from mapekit.lab.netns import available

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("vm_kernel.py")
CACHE = Path(os.environ.get("MAPEKIT_VM_CACHE") or Path(tempfile.gettempdir()) / "mapekit-vm")
MODULES = "ip6_tunnel tun veth nfnetlink nf_tables nft_chain_nat nf_nat nf_conntrack"
BPF_SCRIPT = Path(__file__).with_name("vm_bpf.py")
BPF_MODULES = "tun veth nfnetlink nf_tables nft_chain_nat nf_nat nf_conntrack sch_ingress cls_bpf"


def findings(output: str) -> dict[str, object]:
    """The last JSON object line the script printed."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            try:
                return dict(json.loads(line))
            except ValueError:
                continue
    return {}


@pytest.mark.skipif(not has_ip6tnl() or available() is not None,
                    reason="this kernel has no ip6tnl (the VM test covers it)")  # fmt: skip
def test_kernel_backend_on_this_host() -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(vm.available() is not None, reason=f"qemu VM: {vm.available()}")
def test_kernel_backend_in_a_vm() -> None:
    assets = vm.prepare(CACHE)
    script = (
        f"modprobe -a {MODULES}\n"
        f"cd {ROOT}\n"
        f"PYTHONPATH={ROOT / 'src'}:{ROOT} {sys.executable} {SCRIPT}\n"
    )
    status, output = vm.run(assets, script, timeout=900)
    result = findings(output)
    assert status == 0, output[-3000:]
    assert result.get("traffic through the kernel tunnel") is True
    assert result.get("teardown: no tunnel") is True


@pytest.mark.skipif(vm.available() is not None, reason=f"qemu VM: {vm.available()}")
def test_bpf_backend_in_a_vm() -> None:
    """The programs load on 6.1, carry traffic as the bpf CE and BR, and go at teardown."""
    assets = vm.prepare(CACHE)
    script = (
        f"modprobe -a {BPF_MODULES}\n"
        f"cd {ROOT}\n"
        f"PYTHONPATH={ROOT / 'src'}:{ROOT} {sys.executable} {BPF_SCRIPT}\n"
    )
    status, output = vm.run(assets, script, timeout=900)
    result = findings(output)
    assert status == 0, output[-3000:]
    assert str(result.get("kernel", "")).startswith("6.1."), result
    assert result.get("ce.bpf.o loads on " + str(result["kernel"])) is True
    assert result.get("br.bpf.o loads on " + str(result["kernel"])) is True
    assert result.get("TCP through the bpf CE and BR") is True
    assert result.get("counters move") is True and result.get("teardown: no program") is True
