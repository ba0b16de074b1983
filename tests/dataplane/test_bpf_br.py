"""The bpf BR's own duties, in namespaces with real packets: its rules follow the rule
file and the rule server's database live; after kill -9 its pins and filters are found
and removed by the next start; bpffs is mounted where ``ip netns exec`` left none; and
teardown leaves no program, filter or map.

    ce (2001:db8:100::2, sends forged-or-not tunnel packets) ─ br (mape br --backend bpf)
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.dataplane import libbpf
from mapekit.lab.topology import LAB_RULES, mape_wire
from tests.dataplane.running import counters, filters, start_line
from tests.netns import Lab, needs_root, sh, wait_for

pytestmark = needs_root

SECOND_RULE = {"isp": "lab2", "ipv6_prefix": "2001:db8:200::/40",
               "ipv4_prefix": "203.0.113.0/24", "ea_len": 16, "psid_offset": 6,
               "br": "2001:db8:ffff::1"}  # fmt: skip
SECOND_CE = "2001:db8:205:3500:0:cb00:7105:35"  # 203.0.113.5, PSID 0x35, port 1236
# from the second rule's CE: UDP from 203.0.113.5:1236 to the IPv4 side
SEND = """
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 4)
s.bind((sys.argv[1], 0))
udp = struct.pack("!HHHH", 1236, 5353, 8 + 5, 0) + b"hello"
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("203.0.113.5"), socket.inet_aton("198.51.100.7"))
s.sendto(ip + udp, ("2001:db8:ffff::1", 0))
"""


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab() as lab:
        mape_wire(lab)
        lab.run("ce", "ip", "-6", "addr", "add", f"{SECOND_CE}/128", "dev", "wan0", "nodad")
        yield lab


def start_br(lab: Lab, work: Path, *args: str, log: str = "br.log") -> subprocess.Popen[str]:
    (work / "br.json").unlink(missing_ok=True)
    proc = lab.mape("br", "br", "--backend", "bpf", "--device", "ce0", "--access", "ce0",
                    "--stats", str(work / "br.json"), "--json", *args, log=work / log)  # fmt: skip
    wait_for((work / "br.json").exists, what="the BR")
    return proc


def sent_until(lab: Lab, work: Path, counter: str) -> None:
    """Send from the second rule's CE until ``counter`` of the BR moves."""
    before = counters(work, "br").get(counter, 0)

    def moved() -> bool:
        lab.python("ce", SEND, SECOND_CE)
        return counters(work, "br").get(counter, 0) > before

    wait_for(moved, timeout=20, what=f"the BR's {counter}")


def test_rules_follow_the_rule_file_live(lab: Lab, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(LAB_RULES))
    start_br(lab, tmp_path, "--rules", str(rules))
    sent_until(lab, tmp_path, "from_ce_drop_no_rule")  # no rule covers 203.0.113.5 yet
    rules.write_text(json.dumps([*LAB_RULES, SECOND_RULE]))
    wait_for(lambda: "2 rules in place" in (tmp_path / "br.log").read_text(),
             what="the BR to read the file")  # fmt: skip
    sent_until(lab, tmp_path, "from_ce")  # the same packet is now the second CE's own
    rules.write_text(json.dumps(LAB_RULES))
    wait_for(lambda: "1 removed" in (tmp_path / "br.log").read_text(), what="the removal")
    sent_until(lab, tmp_path, "from_ce_drop_no_rule")


def test_rules_follow_the_rule_servers_database(lab: Lab, tmp_path: Path) -> None:
    db = tmp_path / "server.db"
    (tmp_path / "rules.json").write_text(json.dumps(LAB_RULES))
    url = f"sqlite:///{db}"
    lab.run_mape("br", "server", "--db", url, "init")
    lab.run_mape("br", "server", "--db", url, "rules", "import", str(tmp_path / "rules.json"),
                 "--name", "lab")  # fmt: skip
    start_br(lab, tmp_path, "--db", url, "--rule-set", "lab")
    sent_until(lab, tmp_path, "from_ce_drop_no_rule")
    with sqlite3.connect(db) as conn:  # the operator adds a rule to the set
        conn.execute(
            "INSERT INTO rules (rule_set_id, position, ipv6_prefix, ipv4_prefix, ea_len, "
            "psid_offset, br) SELECT id, 1, ?, ?, 16, 6, NULL FROM rule_sets WHERE name = 'lab'",
            (SECOND_RULE["ipv6_prefix"], SECOND_RULE["ipv4_prefix"]),
        )
    wait_for(lambda: "2 rules in place" in (tmp_path / "br.log").read_text(), timeout=30,
             what="the BR to read the database")  # fmt: skip
    sent_until(lab, tmp_path, "from_ce")


def ids(work: Path, log: str = "br.log") -> list[int]:
    described = start_line(work / log)["bpf"]
    assert isinstance(described, dict)
    return [int(p["id"]) for p in described["programs"]]


def test_kill_9_leaves_pins_the_next_start_removes(lab: Lab, tmp_path: Path) -> None:
    """With a bpffs that outlives the BR (mounted for the test, as systemd's would be),
    kill -9 leaves its pins and filters; the next start removes them and says so; a clean
    stop leaves nothing."""
    (tmp_path / "rules.json").write_text(json.dumps(LAB_RULES))
    bpffs = tmp_path / "bpffs"
    bpffs.mkdir()
    sh("mount", "-t", "bpf", "bpf", str(bpffs))
    try:
        br = start_br(lab, tmp_path, "--rules", str(tmp_path / "rules.json"),
                      "--bpffs", str(bpffs))  # fmt: skip
        first = ids(tmp_path)
        pins = bpffs / "mapekit" / "br-mapebr0"
        assert {"mk_config", "mk_rules", "mk_counters", "mk_frags", "mk_br_ingress"} <= {
            p.name for p in pins.iterdir()
        }
        br.send_signal(signal.SIGKILL)
        br.wait(10)
        assert "mk_br_ingress" in filters(lab, "br", "ce0", "ingress")  # left attached
        assert all(libbpf.object_exists("prog", i) for i in first)  # held by pins, filters
        again = start_br(lab, tmp_path, "--rules", str(tmp_path / "rules.json"),
                         "--bpffs", str(bpffs), log="br2.log")  # fmt: skip
        notes = " ".join(start_line(tmp_path / "br2.log")["notes"])  # type: ignore[arg-type]
        assert "removed what a previous run left" in notes and "ce0 ingress" in notes
        assert not any(libbpf.object_exists("prog", i) for i in first)
        assert filters(lab, "br", "ce0", "ingress").count("name mk_br_ingress ") == 1
        second = ids(tmp_path, "br2.log")
        again.send_signal(signal.SIGTERM)
        again.wait(15)
        assert not (bpffs / "mapekit").exists()
        assert "mk_br" not in filters(lab, "br", "ce0", "ingress")
        assert not any(libbpf.object_exists("prog", i) for i in second)
    finally:
        sh("umount", str(bpffs), check=False)


def test_bpffs_is_mounted_where_ip_netns_exec_left_none(lab: Lab, tmp_path: Path) -> None:
    """``ip netns exec`` remounts /sys: the BR mounts bpffs at /sys/fs/bpf in its own mount
    namespace and pins there (seen from inside that namespace)."""
    (tmp_path / "rules.json").write_text(json.dumps(LAB_RULES))
    fresh = lab.run("br", "stat", "-f", "-c", "%T", "/sys/fs/bpf").stdout.strip()
    assert fresh != "bpf_fs", "ip netns exec gave a mounted bpffs: nothing to test"
    br = start_br(lab, tmp_path, "--rules", str(tmp_path / "rules.json"))
    inside = ["nsenter", "-t", str(br.pid), "-m", "-n"]
    seen = sh(*inside, "stat", "-f", "-c", "%T", "/sys/fs/bpf").stdout.strip()
    assert seen == "bpf_fs"
    assert "mk_rules" in sh(*inside, "ls", "/sys/fs/bpf/mapekit/br-mapebr0").stdout
    programs = ids(tmp_path)
    br.send_signal(signal.SIGTERM)
    br.wait(15)
    assert not any(libbpf.object_exists("prog", i) for i in programs)


def test_without_bpffs_nothing_is_pinned_and_the_br_runs(lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "rules.json").write_text(json.dumps(LAB_RULES))
    br = start_br(lab, tmp_path, "--rules", str(tmp_path / "rules.json"),
                  "--bpffs", "/proc/mapekit-no-bpffs")  # fmt: skip
    notes = " ".join(start_line(tmp_path / "br.log")["notes"])  # type: ignore[arg-type]
    assert "pinned in nothing (/proc/mapekit-no-bpffs: no folder" in notes
    assert "mk_br_ingress" in filters(lab, "br", "ce0", "ingress")
    programs = ids(tmp_path)
    br.send_signal(signal.SIGTERM)
    br.wait(15)
    assert not any(libbpf.object_exists("prog", i) for i in programs)
