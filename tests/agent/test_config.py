"""The agent's configuration: every key checked, errors name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapekit.agent.config import load_config, parse_config
from mapekit.cli.main import main
from mapekit.core.errors import MapeError

GOOD = """
[provider]
kind = "jpne"
url = "https://rules.example/"
vendor_code = "0123456789abcdef0123456789abcdef"
isp = "v6plus"
hgw_url = ""

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


def test_a_full_config() -> None:
    config = parse_config(GOOD)
    assert (config.provider, config.wan, config.lan, config.hgw_url) == (
        "jpne", "eth0", "br-lan", None,
    )  # fmt: skip
    assert config.forwards == ("tcp:7490=192.168.1.10:22",)
    assert config.timer_scale == 0.01 and config.backend == "userspace"
    assert config.iid == "legacy"  # the Japanese operators' default
    assert parse_config(GOOD.replace('isp = "v6plus"', 'iid = "rfc"')).iid == "rfc"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('kind = "jpne"', 'kind = "pppoe"'), "provider.kind"),
        (('isp = "v6plus"', "isp = 5"), "provider.isp"),
        (("[timers]", "[nonsense]"), "nonsense"),
        (("scale = 0.01", "scale = 0"), "timers.scale"),
        (("scale = 0.01", "speed = 1"), "timers.speed"),
        (('wan = "eth0"', ""), "interfaces.wan"),
        (('url = "https://rules.example/"', ""), "provider.url"),
        (('backend = "userspace"', 'backend = "dpdk"'), "dataplane.backend"),
        (('forwards = ["tcp:7490=192.168.1.10:22"]', "forwards = [1]"), "dataplane.forwards"),
        (('source = "pd"', 'source = "static"'), "prefix.static"),
    ],
)
def test_errors_name_the_key(change: tuple[str, str], key: str) -> None:
    with pytest.raises(MapeError) as info:
        parse_config(GOOD.replace(*change))
    assert info.value.field == key


def test_files_and_the_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(GOOD)
    assert load_config(path).provider == "jpne"
    assert main(["agent", "--config", str(path), "--check"]) == 0
    assert "valid" in capsys.readouterr().out
    path.write_text("[provider\n")
    assert main(["agent", "--config", str(path), "--check"]) == 6
    assert main(["agent", "--config", str(tmp_path / "none.toml"), "--check"]) == 6
