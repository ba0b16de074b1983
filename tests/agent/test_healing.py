"""A router's agent over time, in namespaces with real packets: a settled, healthy agent
writes no file, logs no line and changes nothing for 60 s (35 s on bpf; inotify on its state
folder, ``nft monitor`` and ``ip monitor`` in the CE, its journal); and what something else removes
— the whole ruleset (as Debian's nftables.service does), the tunnel device, the default
route — is put back and traffic flows again."""

from __future__ import annotations

import ctypes
import os
import struct
import time
from pathlib import Path

from mapekit.agent.control import ask_agent
from mapekit.agent.daemon import VERIFY_EVERY
from tests.agent.test_agent import agent_config, backend_of, established, lab, who
from tests.dataplane.running import assert_programs
from tests.netns import Lab, needs_root, wait_for

pytestmark = needs_root
__all__ = ["lab"]  # the fixture

QUIET = 60.0  # seconds a healthy agent must stay silent (two periodic data-plane checks)
IN_ANY_WRITE = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200  # modify, attrib, close_write,
# moved from/to, create, delete


class Inotify:
    """Every change under one folder (the agent's state directory)."""

    def __init__(self, folder: Path) -> None:
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert (
            self.fd >= 0 and self.libc.inotify_add_watch(self.fd, bytes(folder), IN_ANY_WRITE) >= 0
        )

    def events(self) -> list[str]:
        found = []
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return found
        offset = 0
        while offset < len(data):
            _, mask, _, length = struct.unpack_from("iIII", data, offset)
            name = data[offset + 16 : offset + 16 + length].rstrip(b"\0").decode()
            found.append(f"{name} mask={mask:#x}")
            offset += 16 + length
        return found

    def close(self) -> None:
        os.close(self.fd)


def lines(path: Path) -> int:
    return path.read_text().count("\n")


def test_a_healthy_agent_is_silent_and_what_is_removed_comes_back(lab: tuple[Lab, Path]) -> None:
    lab_, work = lab
    config = agent_config(work, timer_scale=1.0)  # the operators' timers
    agent = lab_.mape("ce", "agent", "--config", str(config), log=work / "agent.log")
    wait_for(lambda: established(work), what="the agent to establish")
    wait_for(lambda: "8080" in lab_.run("inet", "ss", "-ltn").stdout, what="the server")
    assert who(lab_).startswith("192.0.2.18:")
    time.sleep(2)  # let the first minutes' one-off work end (ND, the first checks)

    # --- silence: no file written, no line logged, nothing changed ------------------------
    watch = Inotify(work / "state")
    before = lines(work / "agent.log")
    nft = lab_.start("ce", "nft", "monitor", log=work / "nft-monitor.log")
    ip = lab_.start("ce", "ip", "monitor", "link", "address", "route", log=work / "ip-monitor.log")
    # the bpf variant: one periodic check of the programs is enough (the agent's part is the
    # same as the userspace variant's, which waits through two)
    time.sleep(QUIET if backend_of(work) != "bpf" else VERIFY_EVERY + 5)
    nft.terminate()
    ip.terminate()
    nft.wait(5)
    ip.wait(5)
    assert watch.events() == [], "the settled agent wrote files"
    watch.close()
    assert lines(work / "agent.log") == before, (work / "agent.log").read_text()[-500:]
    assert (work / "nft-monitor.log").read_text() == "", "the healthy agent changed nftables"
    assert (work / "ip-monitor.log").read_text() == "", "it changed links, addresses or routes"
    status = ask_agent(str(work / "agent.sock"), "status") or {}
    assert status.get("repairs") == 0

    # --- what something else removes comes back -------------------------------------------
    for breaker, what in [
        (("nft", "flush", "ruleset"), "table: ip mapekit"),
        (("ip", "link", "del", "mape0"), "tunnel: mape0 is gone"),
        (("ip", "route", "del", "default", "dev", "mape0"), "default-route: default via mape0"),
    ]:
        lab_.run("ce", *breaker)
        wait_for(lambda what=what: what in (work / "agent.log").read_text(),  # type: ignore[misc]
                 timeout=10, what=f"the repair of {what}")  # fmt: skip
        assert who(lab_).startswith("192.0.2.18:"), f"traffic after {' '.join(breaker)}"
    log = (work / "agent.log").read_text()
    assert log.count("MAPE.030") >= 3 and "MAPE.031" not in log
    status = ask_agent(str(work / "agent.sock"), "status") or {}
    assert int(status.get("repairs") or 0) >= 3
    if backend_of(work) == "bpf":  # the re-made TUN has its program again
        assert_programs(lab_, "ce", {("mape0", "egress"): "mk_ce_egress"})
        # a filter removed from the WAN (no netlink event the agent listens to: the
        # periodic check finds it) is attached again
        lab_.run("ce", "tc", "qdisc", "del", "dev", "wan0", "clsact")
        repaired = "program: mk_ce_ingress on wan0 ingress"
        wait_for(lambda: repaired in (work / "agent.log").read_text(),
                 timeout=VERIFY_EVERY + 15, what="the WAN filter's repair")  # fmt: skip
        assert who(lab_).startswith("192.0.2.18:"), "traffic after the WAN filter's removal"
        assert_programs(lab_, "ce", {("wan0", "ingress"): "mk_ce_ingress"})
    assert lab_.run("ce", "nft", "list", "tables").stdout.count("table ip mapekit") == 1
    agent.terminate()
    agent.wait(15)
    assert "mapekit" not in lab_.run("ce", "nft", "list", "tables").stdout
