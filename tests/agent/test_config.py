"""The agent's configuration: every key checked when it is read, errors name the key, a
wrong configuration exits 78 (no restart loop), and docs/agent.md is the table's."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mapekit.agent.config import (
    KEYS,
    JpneSettings,
    StaticSettings,
    docs,
    load_config,
    parse_config,
)
from mapekit.cli.main import main
from mapekit.core.errors import MapeError

GOOD = """
provider = "jpne"

[jpne]
url = "https://rules.example/"
vendor_code = "0123456789abcdef0123456789ABCDEF"
isp = "v6plus"

[hgw]
check_url = ""

[interfaces]
wan = "eth0"
lan = "br-lan"

[prefix]
source = "pd"
pd_file = "/run/mapekit/pd"

[dataplane]
backend = "userspace"
forwards = ["tcp:7490=192.168.1.10:22"]

[timers]
scale = 0.01
"""
LEGACY = """
[provider]
kind = "jpne"
url = "https://rules.example/"
vendor_code = "0123456789abcdef0123456789abcdef"
hgw_url = ""
rules_file = "/nonexistent/ignored-for-jpne.json"

[interfaces]
wan = "eth0"
"""
DOCS = Path(__file__).resolve().parents[2] / "docs" / "agent.md"


def test_a_full_config() -> None:
    config = parse_config(GOOD)
    settings = config.settings
    assert isinstance(settings, JpneSettings)
    assert (config.provider, config.wan, config.lan, config.hgw_url) == (
        "jpne", "eth0", "br-lan", None,
    )  # fmt: skip
    assert settings.vendor_code == "0123456789abcdef0123456789abcdef"  # normalised
    assert settings.iid == "legacy" and settings.report  # the Japanese operators' default
    assert config.dataplane.forwards == ("tcp:7490=192.168.1.10:22",)
    assert config.timer_scale == 0.01 and config.dataplane.backend == "userspace"
    assert config.state.metrics is None and config.web.listen == "127.0.0.1:8479"
    assert config.ports.timeouts and config.ports.cap_per_destination == 0 and not config.notes


def test_the_smallest_config_is_the_static_table() -> None:
    config = parse_config('provider = "static"\n[interfaces]\nwan = "eth0"\n')
    assert config.settings == StaticSettings() and config.prefix.source == "auto"


def test_the_old_layout_still_works_with_a_note() -> None:
    config = parse_config(LEGACY)
    assert config.provider == "jpne" and config.hgw_url is None
    assert isinstance(config.settings, JpneSettings)
    assert config.notes and "deprecated" in config.notes[0]


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        # each of these was accepted as "valid" before keys were checked at load
        (('vendor_code = "0123456789abcdef0123456789ABCDEF"', 'vendor_code = "xyz"'),
         "jpne.vendor_code", "32 hexadecimal"),
        (('vendor_code = "0123456789abcdef0123456789ABCDEF"', ""),
         "jpne.vendor_code", 'required when provider = "jpne"'),
        (('url = "https://rules.example/"', 'url = "javascript:alert(1)"'),
         "jpne.url", "scheme"),
        (('wan = "eth0"', 'wan = "eth0; rm -rf /"'), "interfaces.wan", "interface name"),
        (("scale = 0.01", "scale = nan"), "timers.scale", "finite"),
        (("scale = 0.01", "scale = inf"), "timers.scale", "finite"),
        (("scale = 0.01", "scale = 0"), "timers.scale", "above 0"),
        (('source = "pd"', 'source = "static"\nstatic = "::/0"'), "prefix.static", "global"),
        (('source = "pd"', 'source = "static"\nstatic = "240b::/129"'), "prefix.static",
         "not an IPv6 prefix"),
        (('source = "pd"', 'source = "static"'), "prefix.static", "required"),
        (('isp = "v6plus"', 'isp = "v6plus"\nca_file = "/nonexistent/ca.pem"'),
         "jpne.ca_file", "No such file"),
        (('provider = "jpne"', 'provider = "pppoe"'), "provider", "not one of"),
        (('isp = "v6plus"', "isp = 5"), "jpne.isp", "expected a string"),
        (("[timers]", "[nonsense]"), "nonsense", "unknown section"),
        (("scale = 0.01", "speed = 1"), "timers.speed", "unknown key"),
        (('wan = "eth0"', ""), "interfaces.wan", "required"),
        (('backend = "userspace"', 'backend = "dpdk"'), "dataplane.backend", "not one of"),
        (('forwards = ["tcp:7490=192.168.1.10:22"]', "forwards = [1]"), "dataplane.forwards",
         "PROTO:PORT"),
        (('forwards = ["tcp:7490=192.168.1.10:22"]', 'forwards = ["tcp:99999=10.0.0.1"]'),
         "dataplane.forwards", "1 to 65535"),
        (('pd_file = "/run/mapekit/pd"', 'pd_file = "pd"'), "prefix.pd_file", "absolute"),
        (('check_url = ""', 'check_url = "https://ntt.setup:8888/x"'), "hgw.check_url",
         "scheme must be http"),
        (("[timers]", "[state]\nmetrics = \"localhost:x\"\n[timers]"), "state.metrics",
         "ADDRESS:PORT"),
        (('isp = "v6plus"', "report = \"false\""), "jpne.report", "true or false"),
        (("[timers]", "[ports]\ncap_per_destination = -1\n[timers]"), "ports.cap_per_destination",
         "from 0 to 65535"),
        (("[timers]", '[ports]\ncap_overrides = ["192.168.1.5"]\n[timers]'), "ports.cap_overrides",
         "LANADDR=N"),
        (("[timers]", '[ports]\ncap_overrides = ["192.168.1.5=1", "192.168.1.5=2"]\n[timers]'),
         "ports.cap_overrides", "given twice"),
        (("[timers]", "[ports]\ntcp_time_wait = 0\n[timers]"), "ports.tcp_time_wait", "from 1"),
        (("[timers]", '[web]\nlisten = "0.0.0.0:8479"\n[timers]'), "web.token", "not loopback"),
        (("[timers]", '[web]\ntoken = "short"\n[timers]'), "web.token", "16 to 128"),
    ],
)  # fmt: skip
def test_errors_name_the_key(change: tuple[str, str], key: str, words: str) -> None:
    with pytest.raises(MapeError) as info:
        parse_config(GOOD.replace(*change))
    assert info.value.field == key, info.value.message
    assert info.value.reason_code == "config.invalid"
    assert words in info.value.message and info.value.message.startswith(key)


def test_a_missing_rules_file_or_a_broken_one(tmp_path: Path) -> None:
    base = 'provider = "static"\n[interfaces]\nwan = "eth0"\n[static]\nrules_file = '
    with pytest.raises(MapeError, match=r"static\.rules_file: .*No such file"):
        parse_config(base + json.dumps(str(tmp_path / "none.json")))
    broken = tmp_path / "broken.json"
    broken.write_text('[{"ipv6_prefix": "2001:db8::/40"}]')
    with pytest.raises(MapeError) as info:
        parse_config(base + json.dumps(str(broken)))
    assert info.value.field == "static.rules_file"


def test_deep_nesting_is_a_config_error() -> None:
    with pytest.raises(MapeError) as info:
        parse_config("x = " + "[" * 100_000 + "]" * 100_000)
    assert info.value.reason_code == "config.invalid" and "nested" in info.value.message


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "missing", "large"])
def test_unreadable_files_never_hang(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "agent.toml"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "large":
        path.write_text("#" * 100_000)
    with pytest.raises(MapeError) as info:
        load_config(path)
    assert info.value.reason_code == "config.unreadable" and str(path) in info.value.message


def test_the_check_command_and_its_exit_statuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(GOOD)
    assert load_config(path).provider == "jpne"
    assert main(["agent", "--config", str(path), "--check"]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["agent", "--config", str(path), "--check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["provider"] == "jpne"
    path.write_text(GOOD.replace('wan = "eth0"', 'wan = "eth0; rm -rf /"'))
    assert main(["agent", "--config", str(path), "--check", "--json"]) == 78
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["field"] == "interfaces.wan" and error["reason_code"] == "config.invalid"
    path.write_text('provider = "jpne"\n[jpne\n')
    assert main(["agent", "--config", str(path), "--check"]) == 78
    assert main(["agent", "--config", str(tmp_path / "none.toml"), "--check"]) == 78


def test_docs_list_every_key() -> None:
    text = DOCS.read_text()
    assert docs() in text, "docs/agent.md is generated: python -m mapekit.agent.config"
    assert all(f"`{key.path}`" in text for key in KEYS)
