"""The agent as a service, at unit level (a real rule server on loopback, an in-memory data
plane, injected clocks): the notify protocol against a datagram socket standing in for
systemd, the journal's lines, stepping the wall clock by ±1 day (no burst, no lost retry),
the saved recheck deadline after a restart, a reload, and a config mistake at load."""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from mapekit.agent import schedule
from mapekit.agent.config import parse_config
from mapekit.agent.daemon import Agent, Provision, Reload, status_line
from mapekit.agent.journal import Journal
from mapekit.agent.notify import Notifier
from mapekit.client.clock import Clock
from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane.plan import Plan
from mapekit.provision.events import LogEntry
from mapekit.provision.machine import Retry
from tests.provision.servers import Script, serve

PREFIX = "240b:10:3f6c:d400::/56"  # v6plus; the scripted server answers v6plus rules
CODE = "0123456789abcdef0123456789abcdef"
DAY = 86400.0


@dataclass
class FakeClock:
    mono: float = 1000.0
    wall: float = 1_800_000_000.0

    def clock(self) -> Clock:
        return Clock(lambda: self.mono, lambda: self.wall)


@dataclass
class MemoryBackend:
    """The Backend protocol in memory: what was applied, and a switch to lose it."""

    plans: list[Plan] = field(default_factory=list)
    retabled: list[Plan] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    repaired: list[list[str]] = field(default_factory=list)
    name: ClassVar[str] = "memory"

    def up(
        self, plan: Plan, mapping: Mapping | None = None, rules: RuleSet | None = None
    ) -> list[str]:
        self.plans.append(plan)
        return []

    def retable(self, plan: Plan) -> list[str]:
        self.retabled.append(plan)
        return []

    def missing(self) -> list[str]:
        return list(self.lost)

    def repair(self, missing: list[str]) -> list[str]:
        self.repaired.append(missing)
        self.lost.clear()
        return []

    def counters(self) -> dict[str, int]:
        return {}

    def down(self, keep_tunnel: bool = False) -> None:
        return


def config_text(url: str, state: Path, code: str = CODE) -> str:
    return f"""
provider = "jpne"
[jpne]
url = "{url}"
vendor_code = "{code}"
[hgw]
check_url = ""
[interfaces]
wan = "mk-nonexistent0"
[prefix]
source = "static"
static = "{PREFIX}"
[dataplane]
backend = "userspace"
[state]
dir = "{state}"
socket = "{state}/agent.sock"
metrics = ""
"""


@pytest.fixture
def server() -> Iterator[tuple[Script, str]]:
    script = Script()
    with serve(script) as url:
        yield script, url


def rule_requests(script: Script) -> int:
    return sum(1 for name, _ in script.requests if name == "jpne_get_rules")


def make_agent(url: str, state: Path, clock: FakeClock, **kwargs: object) -> Agent:
    config = parse_config(config_text(url, state, **kwargs))  # type: ignore[arg-type]
    return Agent(
        config, clock=clock.clock(), backend=MemoryBackend(), journal=Journal(io.StringIO())
    )


def test_stepping_the_wall_clock_neither_bursts_nor_loses_a_retry(
    server: tuple[Script, str], tmp_path: Path
) -> None:
    script, url = server
    clock = FakeClock()
    agent = make_agent(url, tmp_path, clock)
    agent.start()
    assert agent.machine.state.value == "established" and rule_requests(script) == 1
    deadline = agent.machine.timer()
    assert deadline is not None and 3 * 3600 <= deadline - clock.mono <= 24 * 3600
    for step in (DAY, -2 * DAY, 30 * DAY, -60 * DAY):  # NTP at boot, a dead RTC, a typo
        clock.wall += step
        clock.mono += 1.0
        agent.step(block=False)
        assert rule_requests(script) == 1, f"a request after stepping the wall clock {step}"
    clock.mono = deadline - 0.5
    agent.step(block=False)
    assert rule_requests(script) == 1
    clock.mono = deadline + 0.01
    agent.step(block=False)
    assert rule_requests(script) == 2  # exactly the one retry, on time

    # a failure: the retry after 1-10 minutes survives wall-clock steps too
    script.jpne = "503"
    agent.items.put(Provision(Retry()))
    agent.step(block=False)
    assert rule_requests(script) == 3 and agent.machine.outcome == "server_error"
    retry = agent.machine.timer()
    assert retry is not None and 60 <= retry - clock.mono <= 600
    clock.wall -= DAY
    agent.step(block=False)
    clock.wall += 2 * DAY
    agent.step(block=False)
    assert rule_requests(script) == 3
    clock.mono = retry + 0.01
    agent.step(block=False)
    assert rule_requests(script) == 4


def test_the_recheck_deadline_survives_a_restart(
    server: tuple[Script, str], tmp_path: Path
) -> None:
    script, url = server
    clock = FakeClock()
    first = make_agent(url, tmp_path, clock)
    first.start()
    saved = schedule.load(tmp_path)
    assert saved is not None and saved.prefix == PREFIX and saved.wait == "rules_ok"
    planned = saved.due - saved.saved_at
    assert 3 * 3600 <= planned <= 24 * 3600
    first.shutdown()
    assert rule_requests(script) == 1

    # restarted an hour later: the saved rules at once, the request when it was due
    clock.wall, clock.mono = saved.saved_at + 3600, 50.0
    again = make_agent(url, tmp_path, clock)
    again.start()
    assert rule_requests(script) == 1 and again.machine.state.value == "established"
    assert again.dataplane.plan is not None  # applied from the saved rules
    assert abs(again.machine.timer() - (50.0 + planned - 3600)) < 1.5  # type: ignore[operator]
    assert "MAPE.029" in [e.code for e in again.machine.log]
    again.shutdown()

    # a clock that says it is before the schedule was saved: the whole interval again
    clock.wall, clock.mono = saved.saved_at - 10 * 365 * DAY, 70.0
    early = make_agent(url, tmp_path, clock)
    early.start()
    assert rule_requests(script) == 1
    assert abs(early.machine.timer() - (70.0 + planned)) < 1.5  # type: ignore[operator]
    early.shutdown()

    # past the deadline: ask at once
    clock.wall = saved.due + 10
    late = make_agent(url, tmp_path, clock)
    late.start()
    assert rule_requests(script) == 2
    late.shutdown()

    # another provider configuration: ask at once
    changed = make_agent(url, tmp_path, clock, code="f" * 32)
    changed.start()
    assert rule_requests(script) == 3
    changed.shutdown()


def test_a_saved_schedule_is_rebuilt_sanely() -> None:
    kept = schedule.Schedule(saved_at=1000.0, due=1000.0 + 7200, wait="rules_ok",
                             fingerprint="x", prefix=PREFIX)  # fmt: skip
    assert kept.remaining(1000.0 + 3600) == 3600
    assert kept.remaining(10.0) == 7200  # the clock went back: the whole interval
    assert kept.remaining(1000.0 + 9000) == 0  # past: due now
    assert kept.remaining(1000.0 + 10**12) == 0


def test_notify_datagrams(tmp_path: Path, server: tuple[Script, str]) -> None:
    """READY=1 once decided, with STATUS=; watchdog pings; STOPPING=1 at the end."""
    _, url = server
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(path)
        systemd.settimeout(2)
        clock = FakeClock()
        agent = make_agent(url, tmp_path, clock)
        agent.notifier = Notifier.from_environ({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000"})
        agent.start()
        ready = systemd.recv(4096).decode().splitlines()
        assert "READY=1" in ready
        assert any(line.startswith("STATUS=established: 106.72.63.108 PSID 212") for line in ready)
        clock.mono += 2.5  # half of WATCHDOG_USEC has passed
        agent.step(block=False)
        assert systemd.recv(4096) == b"WATCHDOG=1"
        agent.items.put(Reload())  # no file to re-read: refused, the running one is kept
        agent.step(block=False)
        assert systemd.recv(4096).startswith(b"RELOADING=1\nMONOTONIC_USEC=")
        agent.shutdown()
        stopping = systemd.recv(4096).decode()
        assert stopping.startswith("STOPPING=1\nSTATUS=stopping")


def test_notify_abstract_socket_and_no_systemd() -> None:
    name = f"@mapekit-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind("\0" + name[1:])
        systemd.settimeout(2)
        assert Notifier(name).status("waiting for an IPv6 prefix\n(DHCPv6-PD)")
        assert systemd.recv(100) == b"STATUS=waiting for an IPv6 prefix (DHCPv6-PD)"
    assert not Notifier.from_environ({}).ready("x")  # outside systemd: nothing, no error
    assert (
        Notifier.from_environ({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}).watchdog_usec is None
    )


def test_reload_applies_only_what_changed(server: tuple[Script, str], tmp_path: Path) -> None:
    script, url = server
    clock = FakeClock()
    path = tmp_path / "agent.toml"
    path.write_text(config_text(url, tmp_path))
    agent = Agent(parse_config(path.read_text()), path, clock=clock.clock(),
                  backend=MemoryBackend(), journal=Journal(io.StringIO()))  # fmt: skip
    agent.start()
    backend = agent.dataplane.backend
    assert isinstance(backend, MemoryBackend) and len(backend.plans) == 1
    agent.items.put(Reload())
    agent.step(block=False)
    assert rule_requests(script) == 1 and len(backend.plans) == 1  # nothing changed
    assert agent.machine.log[-1].message() == "Configuration reloaded: nothing changed"
    path.write_text(config_text(url, tmp_path).replace('vendor_code = "0', 'vendor_code = "1'))
    agent.items.put(Reload())
    agent.step(block=False)
    assert rule_requests(script) == 2  # new provider settings: asked at once
    assert agent.runner.config.vendor_code.startswith("1")  # type: ignore[union-attr]
    text = config_text(url, tmp_path).replace(
        "[dataplane]", '[dataplane]\nforwards = ["tcp:7490=192.168.1.10"]'
    )
    path.write_text(text.replace('vendor_code = "0', 'vendor_code = "1'))
    agent.items.put(Reload())
    agent.step(block=False)
    # only the ruleset differs: the tables are replaced, the tunnel is left alone
    assert len(backend.plans) == 1 and backend.retabled[-1].forwards
    path.write_text("provider = 5\n")
    agent.items.put(Reload())
    agent.step(block=False)
    assert (
        agent.machine.log[-1].code == "MAPE.034" and "provider" in agent.machine.log[-1].message()
    )
    assert agent.config.dataplane.forwards  # the running configuration is kept


@dataclass
class TranslatingBackend(MemoryBackend):
    """A backend that translates ports (as bpf and userspace do): the whole-set NAT."""

    name: ClassVar[str] = "userspace"


def test_nat_mode_follows_the_configuration(server: tuple[Script, str], tmp_path: Path) -> None:
    _, url = server
    path = tmp_path / "agent.toml"
    path.write_text(config_text(url, tmp_path))
    agent = Agent(parse_config(path.read_text()), path, clock=FakeClock().clock(),
                  backend=TranslatingBackend(), journal=Journal(io.StringIO()))  # fmt: skip
    agent.start()
    forgotten: list[str] = []
    agent.dataplane.forget = lambda ipv4: forgotten.append(ipv4) or 7
    backend = agent.dataplane.backend
    assert isinstance(backend, TranslatingBackend) and len(backend.plans) == 1
    whole = backend.plans[0]
    assert whole.port_map is not None  # the default: one range as long as the set
    assert whole.to_dict()["nat_range"] is not None
    assert agent.status()["plan"]["nat_range"] == whole.to_dict()["nat_range"]
    assert agent.dataplane.watcher is not None
    assert agent.dataplane.watcher.table.port_map == whole.port_map

    def reload(nat: str) -> Plan:
        text = config_text(url, tmp_path).replace("[dataplane]", f'[dataplane]\nnat = "{nat}"')
        path.write_text(text)
        agent.items.put(Reload())
        agent.step(block=False)
        return backend.retabled[-1]  # only the ruleset and the translation change

    per_block = reload("per-block")
    assert len(backend.plans) == 1 and per_block.port_map is None
    assert per_block.pool == whole.pool and per_block.to_dict()["nat_range"] is None
    assert agent.status()["plan"]["nat_range"] is None
    assert agent.dataplane.watcher.table.port_map is None  # conntrack's ports are real now
    # the flows NATed into the virtual range would clash with new ones: forgotten
    assert forgotten == [whole.ipv4_address]
    assert "7 connections in progress dropped" in " ".join(agent.dataplane.notes)
    back = reload("auto")
    assert back.port_map == whole.port_map and len(backend.plans) == 1
    assert forgotten == [whole.ipv4_address] * 2
    reload("auto")  # nothing changed: nothing forgotten
    assert forgotten == [whole.ipv4_address] * 2 and len(backend.retabled) == 2


def test_the_nat_mode_is_per_block_where_nothing_translates(
    server: tuple[Script, str], tmp_path: Path
) -> None:
    """The kernel backend (here any backend that does not translate) plans per block
    whatever ``dataplane.nat`` says."""
    _, url = server
    agent = make_agent(url, tmp_path, FakeClock())
    agent.start()
    backend = agent.dataplane.backend
    assert isinstance(backend, MemoryBackend) and backend.plans[0].port_map is None


def test_repairs_and_their_backoff(server: tuple[Script, str], tmp_path: Path) -> None:
    _, url = server
    clock = FakeClock()
    agent = make_agent(url, tmp_path, clock)
    agent.start()
    backend = agent.dataplane.backend
    assert isinstance(backend, MemoryBackend)
    clock.mono += 31
    agent.step(block=False)
    assert backend.repaired == []  # healthy: nothing done
    for _ in range(5):
        backend.lost = ["table: ip mapekit"]
        clock.mono += 1
        agent._verify_soon()
        clock.mono += 1
        agent.step(block=False)
    codes = [e.code for e in agent.machine.log]
    assert codes.count("MAPE.030") == 4 and "MAPE.032" in codes  # the fifth: back off
    assert agent.repairs == 4


def test_the_journal() -> None:
    out = io.StringIO()
    journal = Journal(out, journald=True)
    poll = [
        LogEntry(0, "MAPE.011"),
        LogEntry(0, "MAPE.012"),
        LogEntry(0, "MAPE.004", {"seconds": 412}),
    ]
    journal.cycle(poll, 0)
    for seconds in (377, 501, 333):
        journal.cycle([*poll[:2], LogEntry(0, "MAPE.004", {"seconds": seconds})], 0)
    journal.events([LogEntry(0, "MAPE.030", {"what": "table: ip mapekit"})], 0)
    lines = out.getvalue().splitlines()
    assert lines == [
        "<6>MAPE.011 Check MAP-E HGW",
        "<5>MAPE.012 Detected MAP-E HGW, stop MAP-E",
        "<6>MAPE.004 Next get MAP-E rule information after 412 seconds",
        "<6>(the previous provisioning cycle repeated 3 more times)",
        "<4>MAPE.030 Data plane repaired: table: ip mapekit",
    ]
    quiet = Journal(io.StringIO(), level="warning")
    quiet.cycle(poll, 0)
    assert quiet.lines == 0
    terminal = io.StringIO()
    Journal(terminal).events([LogEntry(0, "MAPE.016", {"reason": "a\nb"})], 0)
    assert terminal.getvalue().count("\n") == 1 and " warning MAPE.016 " in terminal.getvalue()


def test_status_lines() -> None:
    assert status_line({"state": "HGW active"}).startswith("standing down")
    assert status_line({"state": "waiting", "outcome": None, "prefix_source": "none"}) == (
        "waiting for an IPv6 prefix (none)"
    )
    line = status_line({"state": "waiting", "outcome": "blank", "next_attempt_in": 612,
                        "last_error": {"message": "blank rule set"}})  # fmt: skip
    assert line == "waiting: blank rule set; next attempt in 612 s"


def test_status_lines_of_a_softwire() -> None:
    dslite = {"mechanism": "dslite", "remote": "2001:db8:ffff::1", "remote_name": "aftr.example"}
    line = status_line({"state": "established", "softwire": dslite, "backend": "kernel"})
    assert line == "established: DS-Lite to the AFTR aftr.example (kernel data plane)"
    ipip = {"mechanism": "ipip", "remote": "2001:db8:ffff::2", "ipv4": "203.0.113.9"}
    line = status_line({"state": "established", "softwire": ipip, "backend": "userspace"})
    assert line == "established: IPIP 203.0.113.9 via 2001:db8:ffff::2 (userspace data plane)"
