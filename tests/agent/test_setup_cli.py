"""``mape setup`` and ``mape doctor`` on a router that has no mapekit configuration, in a
namespace: a v6plus RA /64 on the WAN, a private LAN. Detection, --dry-run writes nothing,
no write without --yes, a second run changes nothing, and the doctor ends with the setup
command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netns import Lab, needs_root

pytestmark = needs_root


@pytest.fixture
def router() -> Iterator[Lab]:
    with Lab() as lab:
        lab.add("ce", "up", "lan")
        lab.link("ce", "wan0", "up", "ce0")
        lab.link("ce", "lan0", "lan", "eth0")
        lab.run("ce", "ip", "-6", "addr", "add", "240b:10:3f6c:d400::1/64", "dev", "wan0",
                "nodad")  # fmt: skip
        lab.run("up", "ip", "-6", "addr", "add", "240b:10:3f6c:d400::fe/64", "dev", "ce0",
                "nodad")  # fmt: skip
        lab.run("ce", "ip", "-6", "route", "add", "default", "via", "240b:10:3f6c:d400::fe")
        lab.run("ce", "ip", "addr", "add", "192.168.1.1/24", "dev", "lan0")
        yield lab


def mape(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", lab.ns("ce"), sys.executable, "-m", "mapekit", *args],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def files(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*") if p.is_file()}


def test_setup_on_a_fresh_router(router: Lab, tmp_path: Path) -> None:
    root = tmp_path / "root"
    base = ["setup", "--root", str(root), "--no-hgw-check", "--json"]
    looked = mape(router, *base, "--dry-run")
    assert looked.returncode == 0, looked.stderr
    doc = json.loads(looked.stdout)
    assert doc["detected"]["wan"] == "wan0" and doc["detected"]["lan"] == "lan0"
    assert doc["detected"]["prefix"] == "240b:10:3f6c:d400::/64"
    assert doc["provider"] == "static" and doc["operator"] == "v6plus"
    assert doc["mapping"]["ipv4"] == "106.72.63.108" and doc["written"] is False
    assert {f["status"] for f in doc["files"]} == {"new"} and not root.exists()

    refused = mape(router, *base)  # no terminal, no --yes
    assert refused.returncode == 2 and not root.exists()
    assert json.loads(refused.stdout)["error"]["reason_code"] == "setup.refused"

    written = mape(router, *base, "--yes")
    assert written.returncode == 0 and json.loads(written.stdout)["written"] is True
    before = files(root)
    assert (
        "etc/mapekit/agent.toml" in before and "etc/systemd/system/mapekit-agent.service" in before
    )
    check = mape(
        router, "agent", "--check", "--json", "--config", str(root / "etc/mapekit/agent.toml")
    )
    assert check.returncode == 0 and json.loads(check.stdout)["provider"] == "static"

    again = mape(router, *base, "--yes")
    assert again.returncode == 0
    assert {f["status"] for f in json.loads(again.stdout)["files"]} == {"unchanged"}
    assert files(root) == before  # nothing rewritten

    human = mape(
        router, "setup", "--root", str(root), "--no-hgw-check", "--dry-run", "--lang", "ja"
    )
    assert human.returncode == 0 and "静的ルール" in human.stdout and "変更なし" in human.stdout


def test_a_prefix_nobody_knows_asks_what_to_pass(router: Lab, tmp_path: Path) -> None:
    router.run("ce", "ip", "-6", "addr", "flush", "dev", "wan0", "scope", "global")
    router.run("ce", "ip", "-6", "addr", "add", "2001:db8:77::1/64", "dev", "wan0", "nodad")
    done = mape(router, "setup", "--root", str(tmp_path), "--no-hgw-check", "--dry-run", "--json")
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert error["reason_code"] == "setup.unknown_operator" and "--rules FILE" in error["message"]


def test_the_doctor_without_a_configuration(router: Lab) -> None:
    if Path("/etc/mapekit/agent.toml").exists():
        pytest.fail("this host has /etc/mapekit/agent.toml; the test needs a router without one")
    done = mape(router, "doctor", "--json")
    doc = json.loads(done.stdout)
    assert doc["configured"] is False
    codes = {f["code"]: f for f in doc["findings"]}
    assert "config.none" in codes and "106.72.63.108" in codes["table.static"]["evidence"]
    assert "mape setup --wan wan0" in doc["cause"]["fix"]
    human = mape(router, "doctor")
    assert "mape setup --wan wan0" in human.stdout and "cannot read" not in human.stderr
