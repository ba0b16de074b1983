"""`mape doctor` on an IPIP fixed-address CE in real network namespaces: a CE and the
operator's router, joined by a veth pair. The doctor's probe of the endpoint (an ICMPv6
echo, as for the MAP-E BR) tells apart no route on the CE, an ICMPv6 destination
unreachable from the router (with its code and sender), and an answer; it names the
tunnel address (subnet 0 of the prefix with the interface ID) missing, then present."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netns import Lab, needs_root

pytestmark = needs_root

PREFIX = "2001:db8:12:3400::/56"
TUNNEL_ADDRESS = "2001:db8:12:3400:1234:5678:9abc:def0"  # subnet 0 + ::1234:5678:9abc:def0
ENDPOINT = "2001:db8:ffff::2"
ROUTER = "2001:db8:12:3400::ffff"
CONFIG = f"""\
provider = "ipip"
[ipip]
remote = "{ENDPOINT}"
ipv4 = "203.0.113.9"
interface_id = "::1234:5678:9abc:def0"
[interfaces]
wan = "wan0"
[prefix]
source = "static"
static = "{PREFIX}"
[hgw]
check_url = ""
[state]
dir = "{{dir}}/state"
socket = "{{dir}}/agent.sock"
"""


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab() as lab:
        lab.add("ce", "op")
        lab.link("ce", "wan0", "op", "up0")
        yield lab


def doctor(lab: Lab, tmp_path: Path) -> dict[str, dict[str, str]]:
    config = tmp_path / "agent.toml"
    config.write_text(CONFIG.format(dir=tmp_path))
    done = lab.run_mape("ce", "doctor", "--config", str(config), "--json", check=False)
    assert done.returncode in (0, 16), done.stderr
    return {f["code"]: f for f in json.loads(done.stdout)["findings"]}


def test_the_endpoint_and_the_tunnel_address(lab: Lab, tmp_path: Path) -> None:
    # the CE has no route anywhere, and not its tunnel address
    found = doctor(lab, tmp_path)
    assert found["softwire.unreachable"]["severity"] == "error"
    assert found["softwire.unreachable"]["evidence"].startswith(f"{ENDPOINT}: no route")
    missing = found["ipip.no_address"]
    assert missing["evidence"].startswith(f"expected {TUNNEL_ADDRESS} (prefix {PREFIX}")
    assert "on wan0: no global address" in missing["evidence"]

    # the operator's router refuses the endpoint's network: its ICMPv6 error is named
    lab.run("ce", "ip", "address", "add", "2001:db8:12:3400::1/64", "dev", "wan0", "nodad")
    lab.run("ce", "ip", "address", "add", f"{TUNNEL_ADDRESS}/128", "dev", "wan0", "nodad")
    lab.run("op", "ip", "address", "add", f"{ROUTER}/64", "dev", "up0", "nodad")
    lab.run("op", "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
    lab.run("ce", "ip", "-6", "route", "add", "default", "via", ROUTER)
    lab.run("op", "ip", "-6", "route", "add", "prohibit", "2001:db8:ffff::/48")
    found = doctor(lab, tmp_path)
    refused = found["softwire.unreachable"]
    assert refused["evidence"] == (f"{ENDPOINT}: unreachable — ICMPv6 destination unreachable "
                                   f"(administratively prohibited) from {ROUTER}")  # fmt: skip
    assert found["ipip.address"]["evidence"] == f"{TUNNEL_ADDRESS} on wan0"

    # the endpoint is there: it answers, and nothing is wrong with the softwire
    lab.run("op", "ip", "-6", "route", "del", "prohibit", "2001:db8:ffff::/48")
    lab.run("op", "ip", "address", "add", f"{ENDPOINT}/128", "dev", "lo")
    found = doctor(lab, tmp_path)
    assert found["softwire.reachable"]["severity"] == "ok"
    assert "softwire.unreachable" not in found and "ipip.no_address" not in found
