"""``mape lab scenario NAME`` for every situation of docs/design.md §5, played with real
processes (Kea, dhcpcd, radvd, dnsmasq, the rule server over HTTPS, mapekit's agents and BR);
each asserts what happened and that ``mape doctor`` names the cause — and that the lab left
no process behind."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.cli.main import main
from mapekit.core.s46_wire import container_from_hex
from mapekit.dataplane.backend import choose_backend
from mapekit.lab.topology import LAB_RULES
from tests.dataplane.running import BACKENDS
from tests.netns import needs_root, running_daemons

pytestmark = needs_root


@pytest.fixture(autouse=True)
def nothing_left_behind() -> Iterator[None]:
    before = running_daemons()
    yield
    assert running_daemons() - before == set(), "the lab left processes running"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def scenario(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, backend: str
) -> dict[str, object]:
    """Play ``name`` with ``backend`` for the CE and the BR, and check that it is the
    backend that ran: each node that ran MAP-E reports it; with bpf, its programs were
    attached and its counters counted the scenario's traffic."""
    argv = ["lab", "scenario", name, "--json", "--keep-logs", str(tmp_path), "--backend", backend]
    assert main(argv) == 0
    doc = dict(json.loads(capsys.readouterr().out))
    ran = doc["dataplane"]
    assert isinstance(ran, dict)
    for node, seen in ran.items():
        if node != "br" and seen["state"] != "established":
            continue  # a CE that stood down (an HGW runs MAP-E) applied no data plane
        expected = backend
        if node == "ce" and name == "fresh-router":  # mape setup leaves the choice to auto
            expected = choose_backend("auto")[0]
        assert seen["backend"] == expected, (node, seen)
        if expected == "bpf":
            role = "br" if node == "br" else "ce"
            assert set(seen["programs"]) == {f"mk_{role}_ingress", f"mk_{role}_egress"}, seen
            inbound = "from_ce" if role == "br" else "in"
            assert seen["counters"].get(inbound, 0) > 0, (node, seen["counters"])
    return doc


def doctor(doc: dict[str, object]) -> tuple[dict[str, object] | None, dict[str, str]]:
    found = doc["doctor"]
    assert isinstance(found, dict)
    return found["cause"], found["codes"]


def healthy(doc: dict[str, object]) -> None:
    cause, codes = doctor(doc)
    assert cause is None, cause
    assert codes["rules.ok"] == "ok" and codes["tunnel.up"] == "ok" and codes["nat.ok"] == "ok"


def healthy_softwire(doc: dict[str, object], *expected: str) -> None:
    """No cause, and the softwire's own checks passed (``expected``: their codes)."""
    cause, codes = doctor(doc)
    assert cause is None, cause
    for code in ("softwire.reachable", *expected):
        assert codes.get(code) == "ok", (code, codes)


def test_hgw_active(capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str) -> None:
    doc = scenario(capsys, tmp_path, "hgw-active", backend)
    assert doc["state"] == "hgw_active"  # the CE stood down …
    assert (2, 4) in [tuple(r) for r in doc["reports"]]  # type: ignore[attr-defined]
    assert doc["hgw_state"] == "established"  # … the HGW runs MAP-E …
    assert "192.0.2.18" in str(doc["page"])  # … and the LAN's traffic goes through it
    cause, _ = doctor(doc)
    assert cause is not None and cause["code"] == "hgw.active"
    assert "runs MAP-E itself" in str(cause["explanation"])
    assert (tmp_path / "hgw-agent.log").exists() and (tmp_path / "dns-hgw.log").exists()


def test_hgw_off(capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str) -> None:
    doc = scenario(capsys, tmp_path, "hgw-off", backend)
    assert doc["state"] == "established" and doc["prefix_source"] == "RA /64"
    assert doc["prefix"] == "2001:db8:12:3400::/64"  # the /64 the HGW advertises
    assert "192.0.2.18" in str(doc["page"])
    healthy(doc)
    evidence = doc["doctor"]["evidence"]  # type: ignore[index]
    assert "MAP-E is OFF" in evidence["hgw"]  # the doctor saw the HGW, and MAP-E off


def test_hgw_pd(capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str) -> None:
    doc = scenario(capsys, tmp_path, "hgw-pd", backend)
    assert doc["delegated"] == "2001:db8:12:3410::/60"  # from the HGW's own Kea
    assert doc["page_with_delegated"] is None  # the BR expects the CE elsewhere: nothing flows
    cause, _ = doctor(doc)
    assert cause is not None and cause["code"] == "prefix.extra_bits"
    assert "2001:db8:12:3400:" in str(cause["explanation"])  # where the BR sends
    assert 'prefix.source = "ra"' in str(cause["fix"])
    assert doc["fixed_prefix"] == "2001:db8:12:3400::/64" and "192.0.2.18" in str(doc["page"])


def test_static(capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str) -> None:
    doc = scenario(capsys, tmp_path, "static", backend)
    assert doc["state"] == "established"
    assert "192.0.2.18" in str(doc["page"])
    cause, codes = doctor(doc)
    assert cause is None, cause
    assert codes["table.static"] == "ok" and "rules.ok" not in codes  # no server claimed
    assert codes["tunnel.up"] == "ok" and codes["nat.ok"] == "ok"


def test_fresh_router(capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str) -> None:
    """No configuration on the CE: mape setup writes it; dhcpcd and the agent start from
    exactly those files; a page through MAP-E; a second run changes nothing."""
    doc = scenario(capsys, tmp_path, "fresh-router", backend)
    setup = doc["setup"]
    assert isinstance(setup, dict) and setup["written"] is True
    assert setup["detected"]["wan"] == "wan0" and setup["detected"]["lan"] == "lan0"
    assert setup["detected"]["delivery"] == "dhcpcd" and setup["provider"] == "static"
    assert {Path(f["path"]).relative_to(tmp_path / "ce-root").as_posix()
            for f in setup["files"]} == {
        "etc/mapekit/agent.toml", "etc/dhcpcd.conf", "usr/lib/dhcpcd/dhcpcd-hooks/70-mapekit",
        "etc/systemd/system/mapekit-agent.service",
    }  # fmt: skip
    assert doc["state"] == "established" and doc["prefix_source"] == "DHCPv6-PD"
    assert "you came from 192.0.2.18:" in str(doc["page"])
    again = doc["again"]
    assert isinstance(again, dict) and again["written"] is False
    assert {f["status"] for f in again["files"]} == {"unchanged"}
    assert doc["unit_exec"][1:] == ["agent", "--config",  # type: ignore[index]
                                    f"{tmp_path}/ce-root/etc/mapekit/agent.toml"]  # fmt: skip
    assert "# Why these settings:" in str(doc["config"])


@pytest.mark.parametrize("kind", ["ocn", "hb46pp", "dhcpv6"])
def test_other_provisioning_styles(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str, backend: str
) -> None:
    doc = scenario(capsys, tmp_path, kind, backend)
    assert doc["state"] == "established" and doc["provider"] == kind
    assert "192.0.2.18" in str(doc["page"])
    healthy(doc)
    if kind == "dhcpv6":  # the rule came from Kea's S46 options through dhcpcd's hook
        (container,) = container_from_hex(str(doc["s46_options"]))
        (rule,) = container.rules
        assert str(rule.ipv6_prefix) == LAB_RULES[0]["ipv6_prefix"] and rule.ea_len == 16
        assert [str(br) for br in container.brs] == [LAB_RULES[0]["br"]]
    if kind == "hb46pp":  # found through the 4over6.info TXT record
        assert "4over6.info" in (tmp_path / "dns-ngn.log").read_text()


def test_server_down(capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str) -> None:
    doc = scenario(capsys, tmp_path, "server-down", backend)
    during = doc["during"]
    assert isinstance(during, dict)
    assert during["state"] == "established"  # the saved rules stay in use
    assert during["outcome"] in ("unreachable", "server_error")
    assert "192.0.2.18" in str(doc["page_during"])  # traffic keeps flowing
    cause, _ = doctor(doc)
    assert cause is not None and cause["code"] == "server.unreachable"
    assert doc["after"] == "established"


def test_renumber(capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str) -> None:
    doc = scenario(capsys, tmp_path, "renumber", backend)
    assert doc["prefixes"] == ["2001:db8:12:3400::/56", "2001:db8:13:3500::/56"]  # from Kea
    assert "192.0.2.18" in str(doc["before"]) and "192.0.2.19" in str(doc["after"])
    reports = [tuple(r) for r in doc["reports"]]  # type: ignore[attr-defined]
    start, stop = (1, 0), (2, 2)
    assert reports[0] == start and stop in reports  # stop (address change), then start again
    assert reports.index(stop) < len(reports) - 1 and reports[-1] == start
    healthy(doc)


def test_spoof(capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str) -> None:
    doc = scenario(capsys, tmp_path, "spoof", backend)
    dropped = doc["dropped"]
    assert isinstance(dropped, dict)
    assert dropped["br"].get("from_ce_drop_spoofed_source", 0) >= 10  # both kinds, 5 times
    assert dropped["ce"].get("in_drop_spoofed_source", 0) >= 5
    assert dropped["ce"].get("in_drop_port_outside_set", 0) >= 5
    assert doc["reached_inet"] == 0 and doc["reached_lan"] == 0
    cause, _ = doctor(doc)
    assert cause is not None and cause["code"] == "tunnel.forged"


def test_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "scenario", "nonsense"]) == 2


def test_port_hog(capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str) -> None:
    """One host takes the set toward one destination: the other host fails toward it (not
    elsewhere), the event and the doctor name the hog; a cap lets the other host in and
    counts the hog's refused flows. A process outside the lab whose command line looks like
    the lab's holder is left alone (the lab stops only what it started)."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "hold",
                                  "192.168.1.2"])  # fmt: skip
    try:
        doc = scenario(capsys, tmp_path, "port-hog", backend)
        assert bystander.poll() is None, "the scenario killed a process outside the lab"
    finally:
        bystander.kill()
        bystander.wait()
    count = int(doc["port_count"])  # type: ignore[call-overload]
    assert doc["hog"]["connected"] == count  # type: ignore[index]
    assert doc["other"]["connected"] == 0  # type: ignore[index]  # same destination: none
    assert [e["connected"] for e in doc["elsewhere"]] == [10, 10]  # type: ignore[attr-defined]
    assert "192.168.1.2 holds" in str(doc["event"]) and "198.51.100.7:8080" in str(doc["event"])
    cause, _ = doctor(doc)
    assert cause is not None and cause["code"] == "ports.exhausted"
    assert "192.168.1.2" in str(cause["evidence"]) and "198.51.100.7:8080" in str(cause["evidence"])
    assert "ports.cap_per_destination" in str(cause["fix"])
    assert doc["capped"]["connected"] == doc["cap"]  # type: ignore[index]
    assert doc["other_capped"]["connected"] == 20  # type: ignore[index]
    assert [e["connected"] for e in doc["elsewhere_capped"]] == [10, 10]  # type: ignore[attr-defined]
    refused = doc["refused"]
    assert isinstance(refused, dict) and refused.get("192.168.1.2", 0) >= 20  # the excess
    assert "192.168.1.3" not in refused


def test_dns_burst(capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str) -> None:
    doc = scenario(capsys, tmp_path, "dns-burst", backend)
    assert doc["kernel_defaults"]["failed"] > 0  # type: ignore[index]
    assert doc["mapekit_policy"]["failed"] == 0  # type: ignore[index]
    assert doc["mapekit_policy"]["answered"] == doc["queries"]  # type: ignore[index]


def test_dslite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = scenario(capsys, tmp_path, "dslite", "userspace")  # the AFTR and endpoint: userspace
    healthy_softwire(doc, "aftr.resolves")
    assert doc["mechanism"] == "dslite" and doc["ce2_mechanism"] == "dslite"
    assert doc["aftr_from_option_64"] == "aftr.isp.example"  # Kea → dhcpcd's hook
    assert doc["aftr"] == "2001:db8:ffff::2"  # the name, resolved
    assert doc["ce2_provider"] == "hb46pp"
    for page in doc["pages"].values():  # type: ignore[attr-defined]
        assert "you came from 198.51.100.1:" in page  # NATed by the AFTR
    # both hosts at once, from 192.168.1.2:40000 behind two B4s: two connections
    pages = doc["same_port_pages"]
    assert set(pages) == {"lan", "lan2"}  # type: ignore[arg-type]
    ports = {p.rsplit(":", 1)[1] for p in pages.values()}  # type: ignore[attr-defined]
    assert all("you came from 198.51.100.1:" in p for p in pages.values())  # type: ignore[attr-defined]
    assert len(ports) == 2
    connections = doc["aftr_connections"]
    assert len({c["zone"] for c in connections}) == 2  # type: ignore[attr-defined]
    assert {c["public_port"] for c in connections} == ports  # type: ignore[attr-defined]
    assert doc["nat_on_ce"] is False  # the B4s translate nothing
    assert len(doc["aftr_softwires"]) == 2  # type: ignore[arg-type]


def test_ipip_fixed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = scenario(capsys, tmp_path, "ipip-fixed", "userspace")  # the AFTR and endpoint: userspace
    healthy_softwire(doc, "ipip.address", "update.ok")
    assert doc["mechanism"] == "ipip"
    before, after = doc["locals"]  # type: ignore[misc]
    assert before.startswith("2001:db8:12:3400:") and before.endswith(":1234:5678:9abc:def0")
    assert after.startswith("2001:db8:13:3500:") and after.endswith(":1234:5678:9abc:def0")
    for page in doc["pages"]:  # type: ignore[attr-defined]
        assert "you came from 203.0.113.9:" in page  # the fixed address, before and after
    assert [r["local"] for r in doc["records"]] == [after]  # type: ignore[attr-defined]
    assert doc["log_has_password"] is False


def test_hb46pp_order(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = scenario(
        capsys, tmp_path, "hb46pp-order", "userspace"
    )  # the AFTR and endpoint: userspace
    healthy(doc)
    assert doc["first"] == "dslite" and doc["aftr"] == "2001:db8:ffff::2"
    assert doc["first_page_from"] == "198.51.100.1"  # the AFTR's NAT
    assert doc["preferred"] == "map_e"
    assert doc["second_page_from"].startswith("192.0.2.")  # type: ignore[attr-defined]
