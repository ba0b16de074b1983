"""``mape export`` and ``mape ports`` as a user runs them: output, files, errors, exits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mapekit.cli.main import main
from tests.export.test_formats import render_case
from tests.export.vectors import cli_args

V6PLUS = "240b:10:3f6c:d400::/56"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", ["openwrt", "linux", "networkd", "rtx", "json"])
def test_export_prints_the_renderer_output(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    forwards = ["--forward", "tcp:7490=192.168.1.10:22", "--forward", "udp:11590=192.168.1.20"]
    code, out, err = run(capsys, "export", "--format", fmt, V6PLUS, *forwards)
    assert (code, err) == (0, "")
    assert out == render_case("v6plus", fmt)


def test_export_rfc_vector_with_a_command_line_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "export", "--format", "linux", *cli_args("rfc"),
        "--forward", "tcp:1234=192.168.1.10:22",
    )  # fmt: skip
    assert code == 0
    assert out == render_case("rfc", "linux")
    assert "CE='2001:db8:12:3400:0:c000:212:34'" in out


def test_output_file_is_written_atomically(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "mape.sh"
    target.write_text("old")
    code, out, _ = run(capsys, "export", "--format", "linux", V6PLUS, "-o", str(target))
    assert code == 0 and str(target) in out
    _, printed, _ = run(capsys, "export", "--format", "linux", V6PLUS)
    assert target.read_text() == printed
    assert target.stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mape.sh"]  # no temporary left
    conf = tmp_path / "network.txt"
    assert main(["export", "--format", "openwrt", V6PLUS, "--output", str(conf)]) == 0
    assert conf.stat().st_mode & 0o777 == 0o644


def test_unwritable_output_is_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(
        capsys, "export", "--format", "json", V6PLUS, "-o", str(tmp_path / "no" / "x.json")
    )
    assert code == 3 and out == ""
    assert err.startswith("mape: error: output: cannot write") and err.count("\n") == 1
    assert "[input.value_range]" in err


def test_forward_outside_the_set_names_the_nearest_ports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys, "export", "--format", "openwrt", V6PLUS, "--forward", "tcp:443=192.168.1.10"
    )
    assert code == 5 and out == ""
    assert "port 443 is not in this CE's port set" in err
    assert "nearest usable ports are 7488, 11584, 15680, 19776" in err
    assert "[lookup.port_outside_set]" in err


@pytest.mark.parametrize(
    ("fmt", "flag", "value"),
    [
        ("linux", "--wan", "eth0;reboot"),
        ("networkd", "--wan", "eth0\n[Network]"),
        ("linux", "--lan", "lan 0"),
        ("openwrt", "--wan", "wan6' option x '"),
        ("openwrt", "--wan", "wan-6"),
        ("ix", "--wan", "GigaEthernet0.0\nhostname pwned"),
        ("rtx", "--wan", "lan2 ; x"),
        ("cisco-xe", "--lan", 'Gi0/0/1"x'),
        ("fortigate", "--wan", 'wan1"\n    set x'),
        ("awplus", "--lan", "vlan1!"),
        ("ix", "--voip-bridge", "GigaEthernet2.0 x"),
    ],
)
def test_hostile_interface_names_are_refused(
    capsys: pytest.CaptureFixture[str], fmt: str, flag: str, value: str
) -> None:
    code, out, err = run(capsys, "export", "--format", fmt, V6PLUS, flag, value)
    assert code == 3 and out == ""
    assert err.startswith(f"mape: error: {flag.lstrip('-')}: ") and err.count("\n") == 1
    assert "is not" in err and "[input.value_range]" in err


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--format", "mikrotik"], "format"),
        (["--format", "openwrt", "--mode", "auto"], "mode"),
        (["--format", "rtx", "--mode", "dynamic"], "mode"),
        (["--format", "rtx", "--voip-bridge", "lan3"], "voip-bridge"),
        (["--format", "cisco-xe", "--mode", "auto", "--isp", "ocn", "2400:4050:5a7:f600::/56"],
         "mode"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    prefix = [] if any(":" in a for a in argv) else [V6PLUS]
    code, out, err = run(capsys, "export", *argv, *prefix)
    assert code == 2 and out == ""
    assert err.startswith(f"mape: error: {field}: ") and "[usage.invalid_arguments]" in err


def test_help_lists_formats_and_marks_experimental(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    out = capsys.readouterr().out
    assert "ix         NEC UNIVERGE IX (auto mode only)\n" in out
    assert "fortigate  Fortinet FortiGate (FortiOS) (static mode EXPERIMENTAL)" in out
    assert "openwrt    OpenWrt" in out and "OpenWrt: /etc/config/network proto map" in out
    assert "--full" in out and "--lan-address" in out and "--release" in out


def test_ix_static_is_refused_with_the_way_out(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "export", "--format", "ix", "--mode", "static", V6PLUS)
    assert code == 2 and out == ""
    assert err.startswith("mape: error: mode: the NEC IX has no static MAP-E")
    assert "--format openwrt --full" in err


def test_story_config_for_after_the_switch(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "export", "--format", "ix", "--full", "--voip-bridge", "GigaEthernet2.0",
        "--lan-address", "192.168.10.1/24", V6PLUS,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert "tunnel mode map-e\n" in out and "interface BVI1\n" in out
    assert "ip address 192.168.10.1/24" in out


@pytest.mark.parametrize(
    ("argv", "field", "code"),
    [
        (["--format", "openwrt", "--full", "--lan-address", "192.168.1.0/24"], "lan-address", 3),
        (["--format", "openwrt", "--full", "--lan-address", "192.168.1.1"], "lan-address", 3),
        (["--format", "cisco-xe", "--release", "17.x"], "release", 2),
        (["--format", "networkd", "--full"], "full", 2),
    ],
)
def test_new_option_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], field: str, code: int
) -> None:
    got, out, err = run(capsys, "export", *argv, V6PLUS)
    assert got == code and out == ""
    assert err.startswith(f"mape: error: {field}: ") and err.count("\n") == 1


# --- mape ports ---------------------------------------------------------------------


def test_ports_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ports", V6PLUS, "--json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["mapping"]["ipv4"] == "106.72.63.108"
    assert (doc["port_count"], doc["block_count"], doc["block_size"]) == (240, 15, 16)
    assert doc["blocks"][0] == [7488, 7503] and doc["blocks"][-1] == [64832, 64847]
    assert doc["services"] == [] and doc["checks"] == [] and doc["all_usable"] is True


def test_ports_lists_well_known_ports_in_the_set(capsys: pytest.CaptureFixture[str]) -> None:
    # offset 0, PSID 1 of 8 bits: one block, 256-511
    args = ["--rule-ipv6", "2001:db8::/40", "--rule-ipv4", "192.0.2.0/24",
            "--ea-len", "16", "--psid-offset", "0", "--br", "2001:db8:ffff::1"]  # fmt: skip
    code, out, _ = run(capsys, "ports", "2001:db8:12:100::/56", *args, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["blocks"] == [[256, 511]]
    assert doc["services"] == [
        {"port": 443, "service": "https"},
        {"port": 465, "service": "smtps"},
        {"port": 500, "service": "isakmp"},
    ]
    code, out, _ = run(capsys, "ports", "2001:db8:12:100::/56", *args)
    assert "Service ports  443 (https), 465 (smtps), 500 (isakmp)" in out


def test_ports_check_json_still_prints_the_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ports", V6PLUS, "--check", "443,7490", "--json")
    assert code == 5 and err == ""
    doc = json.loads(out)
    assert doc["all_usable"] is False
    assert doc["checks"] == [
        {"port": 443, "service": "https", "usable": False,
         "nearest": [7488, 11584, 15680, 19776]},
        {"port": 7490, "service": None, "usable": True, "nearest": []},
    ]  # fmt: skip


def test_ports_human(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ports", V6PLUS, "--check", "8080,7490")
    assert code == 5
    assert "IPv4 address   106.72.63.108 (PSID 212)" in out
    assert "Usable ports   240 in 15 block(s) of 16" in out
    assert "7488-7503" in out and "64832-64847" in out
    assert "\nChecked ports\n  8080 (http-alt)  not usable; nearest usable: 7503, 11584" in out
    assert "\n  7490             usable\n" in out
    assert err == "mape: error: port 8080 is not in this CE's port set " \
        "(see the nearest usable ports) [lookup.port_outside_set]\n"  # fmt: skip
    code, out, err = run(capsys, "ports", V6PLUS, "--check", "7490, 64847")
    assert (code, err) == (0, "")
    assert "  64847  usable" in out


@pytest.mark.parametrize("bad", ["443,x", "0", "65536", "", "80;rm"])
def test_ports_bad_check_is_exit_3(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    code, out, _ = run(capsys, "ports", V6PLUS, "--check", bad, "--json")
    assert code == 3
    assert json.loads(out)["error"]["reason_code"] == "input.port_syntax"


def test_ports_ocn_and_unknown_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ports", "2400:4050:5a7:f600::/56", "--json")
    assert code == 0 and json.loads(out)["port_count"] == 1008
    code, out, _ = run(capsys, "ports", "2001:db8::/56", "--json")
    assert code == 5 and json.loads(out)["error"]["reason_code"] == "lookup.no_rule_for_prefix"


def test_no_traceback_ever(capsys: pytest.CaptureFixture[str]) -> None:
    os.environ.pop("MAPE_DEBUG", None)
    for argv in (["export", "--format", "ix", "nonsense"], ["ports", "::/0"]):
        code, _, err = run(capsys, *argv)
        assert code in (2, 3, 5) and "Traceback" not in err


def test_doctor_blank_rules_advises_another_box_meanwhile() -> None:
    from mapekit.diag.checks import Facts, check_rules

    facts = Facts(outcome="blank", reason_code="rules.blank", error_message="v6plus({})")
    (finding,) = check_rules(facts)
    assert finding.fix is not None
    fix_en, fix_ja = finding.fix.get("en"), finding.fix.get("ja")
    assert "mape export --format openwrt|linux --full" in fix_en and "NEC IX" in fix_en
    assert "mape export --format openwrt|linux --full" in fix_ja
