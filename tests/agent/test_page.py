"""The status page: rendered safely from a status (unit), and in headless Chromium from a
running agent in the lab — it loads without console errors, shows the lab's mapping, and its
port cells agree with conntrack; a screenshot is kept in .artifacts/."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mapekit.agent.page import main_part, page
from mapekit.agent.pagetext import TEXT
from mapekit.agent.web import make_handler
from mapekit.core.portset import PortSet
from mapekit.dataplane.portmap import whole_set_map
from mapekit.lab.topology import LAB_RULES
from tests.agent.test_agent import agent_config, established, lab, status
from tests.netns import Lab, needs_root, wait_for

__all__ = ["lab"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".artifacts"
HOLD = """
import socket, sys, time
n = int(sys.argv[1])
keep = [socket.create_connection(("198.51.100.7", 8080), timeout=5) for _ in range(n)]
print("held", flush=True); time.sleep(600)
"""
DUMP = """
import json
from pyroute2 import Conntrack
ports = {}
for e in Conntrack().dump_entries():
    r, o = e.tuple_reply, e.tuple_orig
    if r.daddr == "192.0.2.18" and r.proto == 6:
        ports.setdefault(str(r.dport), []).append(o.saddr)
print(json.dumps(ports))
"""
STATUS = {
    "state": "established", "provider": "static", "prefix_source": "DHCPv6-PD",
    "backend": "userspace", "repairs": 0,
    "mapping": {"ipv4": "192.0.2.18", "psid": 52, "psid_len": 8, "port_count": 8,
                "ce_ipv6": "2001:db8:12:3400:0:c000:212:34", "br": "2001:db8:ffff::1",
                "port_ranges": [[1232, 1235], [2256, 2259]]},
    "port_use": {"flows": 3, "insert_failed": 0, "drop": 0,
                 "per_port": {"1233": {"192.168.1.2": 2, "192.168.1.9": 1}},
                 "busiest": [{"proto": "tcp", "address": "198.51.100.7", "port": 80, "flows": 3,
                              "hosts": {"192.168.1.2": 2}, "share": 0.375}],
                 "per_host": {"192.168.1.2": {"flows": 2, "ports": 1}}},
    "events": [{"time": 0, "code": "MAPE.016", "message": "<script>alert(1)</script>"}],
}  # fmt: skip


def test_the_page_escapes_and_shows_every_port() -> None:
    text = page(STATUS)
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text
    cells = re.findall(r'data-port="(\d+)" data-flows="(\d+)"', text)
    assert [int(p) for p, _ in cells] == [1232, 1233, 1234, 1235, 2256, 2257, 2258, 2259]
    assert dict(cells)["1233"] == "3" and "192.168.1.9: 1" in text
    assert '<script src="page.js" defer>' in text and "onclick" not in text
    japanese = main_part(STATUS, "ja")
    assert "確立" in japanese and "利用の多い宛先" in japanese


SOFTWIRE_STATUS = {
    "state": "established", "provider": "ipip", "backend": "userspace", "repairs": 0,
    "softwire": {"mechanism": "ipip", "local": "2001:db8:12:3400:1234:5678:9abc:def0",
                 "remote": "2001:db8:ffff::3", "remote_name": None, "ipv4": "203.0.113.9",
                 "ipv4_prefix_len": 32, "nat": True},
    "update": {"time": 0, "answer": "HTTP 200 <b>ok</b>", "attempts": 1},
}  # fmt: skip


def test_a_softwire_page_shows_its_tunnel_not_a_mapping() -> None:
    """An IPIP CE's page: its title, the endpoint, tunnel address, fixed IPv4 and the last
    update call (escaped) — no MAP-E mapping or rule rows — in English and Japanese."""
    text = page(SOFTWIRE_STATUS)
    assert "<title>IPIP (fixed IPv4) status</title>" in text
    for value in ("2001:db8:ffff::3", "2001:db8:12:3400:1234:5678:9abc:def0",
                  "203.0.113.9 (the LAN is NATed to it)"):  # fmt: skip
        assert f"<td>{value}</td>" in text, value
    assert "HTTP 200 &lt;b&gt;ok&lt;/b&gt;</td>" in text and "<b>ok" not in text
    assert TEXT["en"]["no_mapping"] not in text and TEXT["en"]["rules_from"] not in text
    japanese = page(SOFTWIRE_STATUS, "ja")
    assert "IPIP（固定 IPv4）状態" in japanese and "終端装置" in japanese
    dslite = {**SOFTWIRE_STATUS, "softwire": {**SOFTWIRE_STATUS["softwire"],  # type: ignore[dict-item]
                                              "mechanism": "dslite", "ipv4": "192.0.0.2",
                                              "ipv4_prefix_len": 29, "nat": False}}  # fmt: skip
    assert "<title>DS-Lite status</title>" in page(dslite)


def test_every_word_has_japanese() -> None:
    assert TEXT["en"].keys() == TEXT["ja"].keys()
    for key, text in TEXT["ja"].items():
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), key  # kana or kanji
        assert text != TEXT["en"][key]


def test_a_token_is_asked_for(tmp_path: Path) -> None:
    handler = make_handler(lambda: STATUS, "0123456789abcdef0123")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{base}/status.json")
        assert denied.value.code == 401
        with urllib.request.urlopen(f"{base}/status.json?token=0123456789abcdef0123") as r:
            assert json.loads(r.read())["state"] == "established"
            assert "default-src 'none'" in r.headers["Content-Security-Policy"]
        with urllib.request.urlopen(f"{base}/page.js") as r:
            assert b"setInterval" in r.read()
    finally:
        server.shutdown()


def chromium(lab: Lab, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    browser = shutil.which("chromium") or "chromium"
    profile = work / "chromium-profile"
    return subprocess.run(
        ["ip", "netns", "exec", lab.ns("ce"), browser, "--headless", "--no-sandbox",
         "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-quic", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=4000", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@needs_root
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium (Debian package)")
def test_the_page_in_chromium(lab: tuple[Lab, Path]) -> None:
    lab_, work = lab
    config = agent_config(work, timer_scale=1.0)  # the BR's backend (the fixture's)
    lab_.mape("ce", "agent", "--config", str(config), log=work / "agent.log")
    wait_for(lambda: established(work), what="the agent to establish")
    wait_for(lambda: "8080" in lab_.run("inet", "ss", "-ltn").stdout, what="the server")
    holder = lab_.start("lan", "python3", "-u", "-c", HOLD, "12", log=work / "hold.log")
    wait_for(lambda: "held" in (work / "hold.log").read_text(), what="the held connections")
    wait_for(lambda: int((status(work).get("port_use") or {}).get("flows", 0)) >= 12,
             what="the agent to see the flows")  # fmt: skip
    conntrack = json.loads(lab_.python("ce", DUMP))
    usage = json.loads(lab_.run_mape("ce", "ports", "--usage", "--json", "--socket",
                                     str(work / "agent.sock")).stdout)  # fmt: skip
    lan_host = "192.168.1.2"  # TCP only: conntrack's TCP entries are all of its flows
    seen = {p: h[lan_host] for p, h in usage["per_port"].items() if lan_host in h}
    # conntrack holds the NAT's virtual ports; the view shows the real ones behind them
    port_map = whole_set_map(PortSet(int(str(LAB_RULES[0]["psid_offset"])), 8, 0x34))
    assert port_map is not None and status(work)["plan"]["nat_range"] == port_map.to_dict()
    conntrack = {str(port_map.to_real(int(p))): hosts for p, hosts in conntrack.items()}
    want = {p: hosts.count(lan_host) for p, hosts in conntrack.items() if lan_host in hosts}
    assert seen == want  # mape ports --usage agrees with conntrack, port by port
    assert usage["per_host"]["192.168.1.2"]["flows"] >= 12
    url = "http://127.0.0.1:8479/"
    done = chromium(lab_, work, "--dump-dom", url)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console  # no errors, no CSP refusals, nothing logged at all
    dom = done.stdout
    assert "192.0.2.18" in dom and "2001:db8:ffff::1" in dom
    cells = dict(re.findall(r'data-port="(\d+)" data-flows="(\d+)"', dom))
    assert len(cells) == int(status(work)["mapping"]["port_count"])  # type: ignore[index]
    assert conntrack and all(int(cells[port]) >= len(hosts) for port, hosts in conntrack.items())
    assert sum(int(n) for n in cells.values()) >= 12
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "status-page.png"
    shot.unlink(missing_ok=True)
    taken = chromium(lab_, work, f"--screenshot={shot}", "--window-size=1280,2400", url)
    assert taken.returncode == 0 and shot.stat().st_size > 10_000, taken.stderr[-1000:]
    japanese = chromium(lab_, work, "--dump-dom", url + "?lang=ja")
    assert "MAP-E 状態" in japanese.stdout and "確立" in japanese.stdout
    holder.kill()
