"""``mape setup``'s decision and files: the operator told from real prefixes of each
built-in table (delegated /56 and RA /64), a prefix no table knows, the order of methods,
files that are valid and idempotent; the unit passes ``systemd-analyze verify``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mapekit.agent.config import PROVIDERS, parse_config
from mapekit.agent.proposal import NeedsAnswer, Seen, Wishes, propose
from mapekit.agent.setup_files import (
    BEGIN,
    END,
    Layout,
    Setting,
    agent_toml,
    merge_blocks,
    planned_files,
    unit,
)
from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.tables import builtin_rules, load_rule_file
from mapekit.lab.topology import LAB_RULES
from tests.netns import needs_root

ROOT = Path(__file__).resolve().parents[2]
TABLE = builtin_rules()
NAME = "built-in operator table"


def seen(prefix: str | None, **changes: object) -> Seen:
    values: dict[str, object] = {
        "prefix": parse_end_user_prefix(prefix) if prefix else None, "prefix_seen": "test",
        "delivery": "dhcpcd", "hgw": "none", "hb46pp_url": None, "s46_options": False,
    }  # fmt: skip
    values.update(changes)
    return Seen(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prefix", "operator", "ipv4"),
    [
        ("240b:10:3f6c:d400::/56", "v6plus", "106.72.63.108"),  # the v6plus vector
        ("240b:10:3f6c:d400::/64", "v6plus", "106.72.63.108"),  # its RA /64
        ("2404:7a80:1234:5600::/56", "biglobe", None),  # BIGLOBE's /31 rules
        ("2404:7a80:1234:5600::1/64", "biglobe", None),  # a WAN address as ip shows it
        ("2404:7a82:0:1200::/56", "biglobe", None),  # BIGLOBE's /38 rules
        ("2400:4050:12:3400::/56", "ocn", None),
        ("2400:4050:12:3400::/64", "ocn", None),
    ],
)
def test_the_operator_from_real_prefixes(prefix: str, operator: str, ipv4: str | None) -> None:
    proposal = propose(seen(prefix), Wishes(), TABLE, NAME)
    assert proposal.provider == "static" and proposal.operator == operator
    assert proposal.prefix_source == "pd" and proposal.mapping is not None
    if ipv4:
        assert proposal.mapping.ipv4_text == ipv4
    why = proposal.reasons[0]
    assert "Static rules: no rule server is asked" in why.en and "vendor code" in why.en
    assert "静的ルール" in why.ja


def test_a_prefix_no_table_knows_is_a_question() -> None:
    with pytest.raises(NeedsAnswer) as info:
        propose(seen("2001:db8:12:3400::/56"), Wishes(), TABLE, NAME)
    message = info.value.message
    assert "2001:db8:12:3400::/56" in message and "--rules FILE" in message
    assert "--provider" in message and info.value.reason_code == "setup.unknown_operator"
    rules = str(ROOT / "tests" / "export" / "nonexistent.json")
    given = propose(seen("2001:db8:12:3400::/56"), Wishes(rules_file=rules), TABLE, NAME)
    assert given.provider == "static" and given.settings == {"rules_file": rules}


def test_no_prefix_yet_takes_the_table_and_says_so() -> None:
    proposal = propose(seen(None), Wishes(), TABLE, NAME)
    assert proposal.provider == "static" and proposal.operator is None
    assert "No prefix yet" in proposal.reasons[0].en


def test_an_aftr_option_means_dslite() -> None:
    proposal = propose(seen("2400:4050:12:3400::/56", aftr="gw.transix.example"), Wishes(),
                       TABLE, NAME)  # fmt: skip
    assert proposal.provider == "dslite" and "AFTR does the NAT" in proposal.reasons[0].en
    question = seen("2001:db8:77::/56")
    with pytest.raises(NeedsAnswer, match="--provider dslite --aftr NAME"):
        propose(question, Wishes(), TABLE, NAME)


def test_a_known_aftr_is_named_as_its_service() -> None:
    found = propose(seen("2409:10:2a0:3400::/56", aftr="gw.transix.jp"), Wishes(), TABLE, NAME)
    assert found.provider == "dslite" and found.settings == {}
    said = found.reasons[1]
    assert said.en == "gw.transix.jp is the AFTR of transix (Internet Multifeed)."
    assert "インターネットマルチフィード" in said.ja
    asked = propose(seen(None), Wishes("dslite", aftr="DGW.XPASS.JP."), TABLE, NAME)
    assert asked.settings == {"aftr": "DGW.XPASS.JP."}  # kept as given; resolved as a name
    assert "dgw.xpass.jp is the AFTR of Xpass (ARTERIA Networks)" in asked.reasons[1].en
    assert "クロスパス（アルテリア・ネットワークス）" in asked.reasons[1].ja
    v6connect = propose(seen(None, aftr="dslite.v6connect.net"), Wishes("dslite"), TABLE, NAME)
    assert "v6 コネクト（朝日ネット）" in v6connect.reasons[1].ja


def test_an_unknown_aftr_or_none_offers_the_published_names() -> None:
    other = propose(seen(None, aftr="gw.transix.example"), Wishes(), TABLE, NAME)
    assert "none of the AFTR names mapekit knows" in other.reasons[1].en
    assert "(transix: gw.transix.jp; Xpass: dgw.xpass.jp; v6 connect" in other.reasons[1].en
    nothing = propose(seen(None), Wishes("dslite"), TABLE, NAME)
    assert "DHCPv6 option 64" in nothing.reasons[1].en
    assert "v6 コネクト: dslite.v6connect.net" in nothing.reasons[1].ja
    address = propose(seen(None), Wishes("dslite", aftr="2001:db8:aff::1"), TABLE, NAME)
    assert not any("AFTR name" in r.en or "the AFTR of" in r.en for r in address.reasons)
    static = propose(seen(None, aftr="gw.transix.jp"), Wishes("static"), TABLE, NAME)
    assert not any("transix" in r.en for r in static.reasons)  # not DS-Lite: nothing said


def test_the_question_lists_the_published_names() -> None:
    with pytest.raises(NeedsAnswer) as info:
        propose(seen("2001:db8:77::/56"), Wishes(), TABLE, NAME)
    assert "--aftr NAME (transix: gw.transix.jp; Xpass: dgw.xpass.jp;" in info.value.message


def test_the_order_of_methods() -> None:
    v6plus = "240b:10:3f6c:d400::/56"
    code = "0123456789abcdef0123456789abcdef"
    assert propose(seen(v6plus, s46_options=True), Wishes(), TABLE, NAME).provider == "dhcpv6"
    found = propose(seen(v6plus, hb46pp_url="https://p.example/"), Wishes(), TABLE, NAME)
    assert found.provider == "hb46pp" and "4over6.info" in found.reasons[0].en
    jpne = propose(seen(v6plus), Wishes(url="https://api.example/", vendor_code=code), TABLE,
                   NAME)  # fmt: skip
    assert jpne.provider == "jpne" and jpne.settings["vendor_code"] == code
    ocn = propose(seen("2400:4050:12:3400::/56"), Wishes(url="https://o.example/",
                  vendor_code="abcd1234"), TABLE, NAME)  # fmt: skip
    assert ocn.provider == "ocn"
    asked = propose(seen(v6plus, s46_options=True), Wishes(provider="static"), TABLE, NAME)
    assert asked.provider == "static"


@pytest.mark.parametrize(
    ("changes", "source", "words"),
    [
        ({"hgw": "on"}, "ra", "stands down"),
        ({"hgw": "off"}, "ra", "it advertises"),
        ({"delivery": "networkd"}, "lan", "systemd-networkd"),
        ({"delivery": "ra"}, "ra", "install dhcpcd"),
    ],
)
def test_the_prefix_source(changes: dict[str, object], source: str, words: str) -> None:
    proposal = propose(seen("240b:10:3f6c:d400::/64", **changes), Wishes(), TABLE, NAME)
    assert proposal.prefix_source == source
    assert any(words in r.en for r in proposal.reasons)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_what_setup_writes_is_a_valid_configuration(provider: str, tmp_path: Path) -> None:
    wishes = Wishes(provider, "https://api.example/", "0123456789abcdef0123456789abcdef",
                    aftr="gw.transix.example", remote="2001:db8:ffff::2", ipv4="203.0.113.9",
                    interface_id="::1:2:3:4")  # fmt: skip
    proposal = propose(seen("240b:10:3f6c:d400::/56"), wishes, TABLE, NAME)
    layout = Layout(str(tmp_path))
    text = agent_toml(Setting("wan0", "lan0", "dhcpcd", proposal), layout)
    config = parse_config(text)
    assert config.provider == provider and config.wan == "wan0"
    assert config.state.dir == f"{tmp_path}/var/lib/mapekit"  # paths under --root
    assert "# Why these settings:" in text


def test_the_dhcpcd_blocks_are_replaced_never_duplicated() -> None:
    user = "# the admin's own lines\nslaac private\ninterface eth9\n  static x=1\n"
    merged = merge_blocks(user, f"{BEGIN} top\nA\n{END}", f"{BEGIN} end\nB\n{END}")
    assert merged.startswith(f"{BEGIN} top") and merged.rstrip().endswith(END)
    assert "slaac private" in merged and "static x=1" in merged
    again = merge_blocks(merged, f"{BEGIN} top\nA\n{END}", f"{BEGIN} end\nB\n{END}")
    assert again == merged and again.count(BEGIN) == 2
    changed = merge_blocks(merged, f"{BEGIN} top\nC\n{END}", f"{BEGIN} end\nB\n{END}")
    assert "C" in changed.splitlines() and "A" not in changed.splitlines()


def test_the_planned_files(tmp_path: Path) -> None:
    proposal = propose(seen("240b:10:3f6c:d400::/56"), Wishes(), TABLE, NAME)
    files = planned_files(Setting("wan0", "lan0", "dhcpcd", proposal), Layout(str(tmp_path)),
                          exec_start=["/opt/mapekit/bin/mape"], hook="#!/bin/sh\n",
                          existing_dhcpcd="", networkd_files={})  # fmt: skip
    paths = {Path(f.path).relative_to(tmp_path).as_posix(): f for f in files}
    assert set(paths) == {"etc/mapekit/agent.toml", "etc/dhcpcd.conf",
                          "usr/lib/dhcpcd/dhcpcd-hooks/70-mapekit",
                          "etc/systemd/system/mapekit-agent.service"}  # fmt: skip
    dhcpcd = paths["etc/dhcpcd.conf"].text
    assert f"env mapekit_pd_file={tmp_path}/run/mapekit/pd" in dhcpcd
    assert "ia_pd 1 lan0/0/64/1" in dhcpcd and "define6 94 binhex s46_cont_mape" in dhcpcd
    service = paths["etc/systemd/system/mapekit-agent.service"].text
    assert f"--config {tmp_path}/etc/mapekit/agent.toml" in service
    assert paths["usr/lib/dhcpcd/dhcpcd-hooks/70-mapekit"].mode == 0o755


def test_the_unit_tells_the_truth() -> None:
    text = unit(["/opt/mapekit/bin/mape"], Layout("/"))
    for line in (
        "Type=notify",
        "WatchdogSec=60",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "RestartPreventExitStatus=78",
        "RuntimeDirectoryPreserve=yes",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF",
        "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF",
        "ReadWritePaths=-/sys/fs/bpf",
        "ProtectSystem=strict",
        "ExecStart=/opt/mapekit/bin/mape agent --config /etc/mapekit/agent.toml",
    ):
        assert line in text.splitlines(), line  # fmt: skip
    assert "man:" not in text  # no reference to a document that is not installed
    assert (ROOT / "contrib" / "mapekit-agent.service").read_text() == text


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_examples_in_contrib(provider: str) -> None:
    config = parse_config((ROOT / "contrib" / f"agent-{provider}.toml").read_text())
    assert config.provider == provider


def verify(unit_file: Path, opt_mape: bool = False) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify``; ``opt_mape``: with /opt/mapekit/bin/mape present, as an
    install in /opt/mapekit has it (a private mount namespace: the host's /opt untouched)."""
    command = ["systemd-analyze", "verify", str(unit_file)]
    if opt_mape:
        mape = Path(sys.executable).parent / "mape"
        script = ("mount -t tmpfs mapekit-test /opt && mkdir -p /opt/mapekit/bin && "
                  f'ln -s "{mape}" /opt/mapekit/bin/mape && exec "$@"')  # fmt: skip
        command = ["unshare", "--mount", "sh", "-c", script, "verify", *command]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (Debian: systemd)"
)


@needs_root
@needs_systemd
def test_systemd_accepts_the_shipped_unit() -> None:
    done = verify(ROOT / "contrib" / "mapekit-agent.service", opt_mape=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr


@needs_systemd
def test_systemd_finds_a_mistake(tmp_path: Path) -> None:
    """The check above would see a wrong key (it warns on standard error)."""
    bad = tmp_path / "mapekit-agent.service"
    text = unit([str(Path(sys.executable).parent / "mape")], Layout(str(tmp_path)))
    bad.write_text(text.replace("Type=notify", "Type=notify\nWatchdogSecs=60"))
    assert "Unknown key" in verify(bad).stderr
    good = tmp_path / "good.service"
    good.write_text(text)
    done = verify(good)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_the_rules_option_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(LAB_RULES))
    table = load_rule_file(path)
    proposal = propose(seen("2001:db8:12:3400::/56"), Wishes(rules_file=str(path)), table,
                       f"rule file {path}")  # fmt: skip
    assert proposal.provider == "static" and proposal.operator == "lab"
    assert proposal.mapping is not None and proposal.mapping.ipv4_text == "192.0.2.18"
