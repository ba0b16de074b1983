"""Rule requests leave from an address inside the End-user prefix (docs/design.md §3.2).

In a network namespace of its own, the test puts an address of the prefix on the
loopback interface, runs the rule server on [::1], and checks the source address the
server saw. Needs root; skipped (with the reason) elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "2001:db8:12:3400::/56"
SOURCE = "2001:db8:12:3400::99"
CODE = "0123456789abcdef0123456789abcdef"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="needs root and iproute2 to create a network namespace",
)


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"mapekit-t-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        subprocess.run(
            ["ip", "-n", name, "addr", "add", f"{SOURCE}/128", "dev", "lo", "nodad"], check=True
        )
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def test_requests_leave_from_the_wan_address(netns: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"}
    port_file, log_file = tmp_path / "port", tmp_path / "log"
    server = subprocess.Popen(
        ["ip", "netns", "exec", netns, sys.executable, "-m", "tests.provision.servers",
         "::1", str(port_file), str(log_file)],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists() or not port_file.read_text():
            assert time.monotonic() < deadline and server.poll() is None, "server did not start"
            time.sleep(0.05)
        url = f"http://[::1]:{port_file.read_text()}"
        done = subprocess.run(
            ["ip", "netns", "exec", netns, sys.executable, "-m", "mapekit", "provision",
             "--provider", "jpne", "--wan-prefix", PREFIX, "--wan-address", SOURCE,
             "--url", url, "--vendor-code", CODE, "--no-hgw-check", "--once", "--json",
             "--state-dir", str(tmp_path / "state")],
            env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        # the sample rules are v6plus rules, which do not cover the lab prefix: the
        # exchange itself is what this test is about
        doc = json.loads(done.stdout)
        assert doc["reason_code"] == "rules.no_bmr", doc
        deadline = time.monotonic() + 5
        while not log_file.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        name, _, client = json.loads(log_file.read_text().splitlines()[0])
        assert name == "jpne_get_rules"
        assert client == SOURCE
    finally:
        server.terminate()
        server.wait(timeout=10)
