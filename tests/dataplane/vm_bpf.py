"""Runs inside the qemu VM (Debian 12's 6.1 kernel): the bpf backend end to end.

The verifier of 6.1 accepts both objects; LAN → CE (bpf) → BR (bpf) → IPv4 host with
TCP and ping; the programs are attached and their counters move; teardown leaves no
program, filter or map. Prints one JSON object of findings; exits non-zero at the first
failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from mapekit.dataplane import bpfbuild, libbpf
from mapekit.dataplane.links import DataplaneError
from mapekit.lab.netns import Lab, wait_for
from mapekit.lab.topology import mape_path
from tests.dataplane.running import assert_running, counters, start_line
from tests.dataplane.vm_kernel import SERVER, WHO, check


def verifier(findings: dict[str, object]) -> None:
    """Load each object (the kernel's verifier runs) and close it again."""
    for name in bpfbuild.PROGRAMS:
        path, scratch = bpfbuild.object_for(name)
        try:
            libbpf.BpfObject.load(str(path)).close()
            refused = ""
        except DataplaneError as exc:
            refused = exc.message[-2000:]
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        findings[f"{name} verifier"] = refused or "accepted"
        check(not refused, f"{name}.bpf.o loads on {os.uname().release}", findings)


def ids_of(work: Path) -> list[int]:
    found = []
    for node in ("ce", "br"):
        described = start_line(work / f"{node}.log")["bpf"]
        assert isinstance(described, dict)
        found += [int(p["id"]) for p in described["programs"]]
    return found


def main() -> None:
    findings: dict[str, object] = {"kernel": os.uname().release}
    verifier(findings)
    work = Path(tempfile.mkdtemp())
    with Lab() as lab:
        try:
            mape_path(lab, work, backend="bpf", timeout=300)  # Python starts slowly under TCG
        except TimeoutError:
            for node in ("ce", "br"):
                log = work / f"{node}.log"
                findings[f"{node} log"] = log.read_text()[-1500:] if log.exists() else None
            check(False, "the bpf CE and BR come up", findings)
        try:
            assert_running(lab, work, "bpf")
        except AssertionError as exc:
            findings["not attached"] = str(exc)[-1500:]
            check(False, "programs attached", findings)
        findings["programs attached"] = True
        ids = ids_of(work)
        lab.start("inet", sys.executable, "-c", SERVER)
        wait_for(lambda: "8080" in lab.run("inet", "ss", "-ltn").stdout, timeout=120,
                 what="server")  # fmt: skip
        ping = lab.run("lan", "ping", "-c", "3", "-W", "5", "198.51.100.7", check=False)
        check(ping.returncode == 0, "ping through the bpf CE and BR", findings)
        seen = lab.python("lan", WHO, timeout=120).strip()
        findings["inet saw"] = seen
        check(seen.startswith("192.0.2.18:"), "TCP through the bpf CE and BR", findings)
        # ping (3 each way) and the TCP connection (at least 4 each way); the counters
        # files are written every second, slowly under emulation
        with contextlib.suppress(TimeoutError):  # the check below says what was seen
            wait_for(lambda: counters(work, "ce").get("in", 0) >= 7
                     and counters(work, "br").get("from_ce", 0) >= 7, timeout=60,
                     what="counters")  # fmt: skip
        findings["ce counters"] = counters(work, "ce")
        findings["br counters"] = counters(work, "br")
        check(counters(work, "br").get("from_ce", 0) >= 7, "counters move", findings)
        for proc in lab.procs:
            proc.terminate()
        for proc in lab.procs:
            proc.wait(timeout=60)
        check("mk_ce" not in lab.run("ce", "tc", "filter", "show", "dev", "wan0", "ingress").stdout,
              "teardown: no filter", findings)  # fmt: skip
        check(not any(libbpf.object_exists("prog", i) for i in ids),
              "teardown: no program", findings)  # fmt: skip
    print(json.dumps(findings))


if __name__ == "__main__":
    main()
