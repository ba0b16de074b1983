"""The lab's pieces that need no namespace: the topology file, the agents' configurations,
Kea's configuration, and mapekit's dhcpcd hook run the way dhcpcd runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mapekit.agent.config import Hb46ppSettings, load_config
from mapekit.core.errors import DataError
from mapekit.core.s46_wire import container_from_hex
from mapekit.lab.network import Topology, agent_config, parse_topology
from mapekit.lab.services import hook_path, kea_config
from mapekit.lab.topology import LAB_RULES


def test_topology_file() -> None:
    assert parse_topology("") == Topology()
    topo = parse_topology('hgw = "on"\nprovider = "ocn"\ntls = false\ntimer_scale = 1\n')
    assert (topo.hgw, topo.provider, topo.tls, topo.timer_scale) == ("on", "ocn", False, 1)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('hgw = "maybe"', "hgw", "not one of none, on, off"),
        ("tls = 1", "tls", "expected bool"),
        ('colour = "red"', "colour", "unknown key"),
        ("timer_scale = 0", "timer_scale", "(0, 1]"),
        ("hgw = ", "topology", "not valid TOML"),
        ("hgw_pd = true", "hgw_pd", "needs an HGW"),
        ('provider = "dhcpv6"\nhgw = "off"', "provider", "passes no S46 options"),
    ],
)
def test_topology_errors_name_the_key(text: str, field: str, words: str) -> None:
    with pytest.raises(DataError) as caught:
        parse_topology(text)
    assert caught.value.field == field and words in caught.value.message


def test_agent_config_overrides(tmp_path: Path) -> None:
    (tmp_path / "rules.json").write_text(json.dumps(LAB_RULES))
    path = agent_config(
        tmp_path,
        "hb46pp",
        name="x",
        provider={"url": None, "dns_server": "2001:db8:100::1"},
        prefix={"source": "ra"},
    )
    config = load_config(str(path))
    settings = config.settings
    assert isinstance(settings, Hb46ppSettings)
    assert config.provider == "hb46pp" and settings.url is None  # None removed the key
    assert settings.dns_server == "2001:db8:100::1" and config.prefix.source == "ra"
    assert config.state.socket == str(tmp_path / "x.sock")


def test_kea_configuration_carries_the_lab_rule(tmp_path: Path) -> None:
    doc = kea_config(tmp_path, interface="ce0", subnet="2001:db8:100::/64",
                     delegated="2001:db8:12:3400::/56", rule=LAB_RULES[0])  # fmt: skip
    subnet = doc["Dhcp6"]["subnet6"][0]  # type: ignore[index]
    assert subnet["pd-pools"] == [
        {"prefix": "2001:db8:12:3400::", "prefix-len": 56, "delegated-len": 56}
    ]
    data = {o["name"]: o.get("data") for o in subnet["option-data"]}
    assert data["s46-rule"] == "1, 16, 24, 192.0.2.0, 2001:db8::/40"  # F flag, EA, v4, v6
    assert data["s46-br"] == "2001:db8:ffff::1"
    assert data["s46-portparams"] == "6, 0/0"


def run_hook(tmp_path: Path, **env: str) -> None:
    """mapekit's hook, sourced by dash the way dhcpcd-run-hooks does, with later hooks."""
    variables = {"PATH": os.environ["PATH"], "mapekit_pd_file": str(tmp_path / "pd"),
                 "mapekit_s46_file": str(tmp_path / "s46.hex"), "interface": "wan0",
                 "mapekit_wan": "wan0", **env}  # fmt: skip
    # the hook leaves no variable or function behind for the hooks sourced after it
    script = (
        '. "$0"; [ -z "${mapekit_pd+x}${mapekit_hex+x}" ] || exit 9; ! command -v mapekit_write'
    )
    subprocess.run(["sh", "-c", script, str(hook_path())], env=variables, check=True)


# the payload of option 94 as dhcpcd exports it (captured from Kea 2.2 in the lab)
KEA_S46 = ("00590015011018c00002002820010db800005d000406000000005a001020010db8ffff"
           "00000000000000000001")  # fmt: skip
BOUND = {"new_dhcp6_ia_pd1_prefix1": "2001:db8:12:3400::",
         "new_dhcp6_ia_pd1_prefix1_length": "56", "new_dhcp6_s46_cont_mape": KEA_S46}  # fmt: skip


def test_dhcpcd_hook_writes_prefix_and_s46_options(tmp_path: Path) -> None:
    run_hook(tmp_path, reason="BOUND6", **BOUND)
    assert (tmp_path / "pd").read_text() == "2001:db8:12:3400::/56\n"
    (container,) = container_from_hex((tmp_path / "s46.hex").read_text())
    (rule,) = container.rules
    assert str(rule.ipv4_prefix) == "192.0.2.0/24" and str(rule.ipv6_prefix) == "2001:db8::/40"
    assert rule.fmr and rule.ea_len == 16 and str(container.brs[0]) == "2001:db8:ffff::1"
    # not hex (an attacker's or a broken server's text), or half a byte: the last good stay
    for bad in ("00$(reboot)", KEA_S46 + "0"):
        run_hook(tmp_path, reason="RENEW6", new_dhcp6_s46_cont_mape=bad)
        assert container_from_hex((tmp_path / "s46.hex").read_text()) == (container,)
    # another interface stopping (the LAN) removes nothing; the WAN losing its prefix does
    run_hook(tmp_path, reason="STOP6", interface="lan0",
             old_dhcp6_ia_pd1_prefix1="2001:db8:12:3400::")  # fmt: skip
    run_hook(tmp_path, reason="STOP6", interface="lan0", mapekit_wan="")  # no prefix there
    assert (tmp_path / "pd").exists() and (tmp_path / "s46.hex").exists()
    run_hook(tmp_path, reason="STOP6", old_dhcp6_ia_pd1_prefix1="2001:db8:12:3400::")
    assert not (tmp_path / "pd").exists() and not (tmp_path / "s46.hex").exists()


def test_dhcpcd_hook_skips_a_withdrawn_prefix(tmp_path: Path) -> None:
    """A rebind after renumbering: the old prefix with lifetime 0, then the new one."""
    old = {"prefix1": "2001:db8:12:3400::", "prefix1_length": "56", "prefix1_vltime": "0"}
    new = {"prefix2": "2001:db8:13:3500::", "prefix2_length": "56", "prefix2_vltime": "4000"}
    lease = {f"new_dhcp6_ia_pd1_{key}": value for key, value in {**old, **new}.items()}
    run_hook(tmp_path, reason="REBIND6", **lease)
    assert (tmp_path / "pd").read_text() == "2001:db8:13:3500::/56\n"


def test_dhcpcd_hook_ignores_other_interfaces(tmp_path: Path) -> None:
    run_hook(tmp_path, reason="BOUND6", interface="eth9", **BOUND)
    assert not (tmp_path / "pd").exists()


def test_the_hook_is_also_in_contrib() -> None:
    contrib = Path(__file__).resolve().parents[2] / "contrib" / "dhcpcd-hook"
    assert contrib.resolve() == hook_path().resolve()


def test_the_lab_folder(tmp_path: Path) -> None:
    from mapekit.core.errors import MapeError
    from mapekit.lab.network import MARKER, prepare_folder

    work = tmp_path / "lab"
    prepare_folder(work)  # created, private, marked
    assert work.stat().st_mode & 0o777 == 0o700 and (work / MARKER).exists()
    (work / "server.db").write_text("an earlier lab's")
    (work / "state").mkdir()
    prepare_folder(work)  # an earlier lab's folder is emptied
    assert sorted(p.name for p in work.iterdir()) == [MARKER]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("not a lab's")
    with pytest.raises(MapeError) as caught:
        prepare_folder(mine)  # anything else is refused, and left alone
    assert caught.value.reason_code == "lab.folder" and (mine / "thesis.tex").exists()
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(MapeError, match="writable by others"):
        prepare_folder(shared)
