"""``mape calc`` and ``mape rules`` as a user runs them: human and JSON output, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mapekit.cli.main import main

V6PLUS = "240b:10:3f6c:d400::/56"
RFC_RULE = [
    "--rule-ipv6", "2001:db8::/40", "--rule-ipv4", "192.0.2.0/24",
    "--ea-len", "16", "--psid-offset", "6",
]  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code, out, err = run(capsys, *argv, "--json")
    assert err == ""
    return code, json.loads(out)


def test_forward_json_has_the_contract_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, d = run_json(capsys, "calc", V6PLUS)
    assert code == 0
    assert d["isp"] == "v6plus"
    assert d["rule"] == {
        "ipv6_prefix": "240b:10::/31",
        "ipv4_prefix": "106.72.0.0/15",
        "ea_len": 25,
        "psid_offset": 4,
        "psid_len": 8,
    }
    assert d["br"] == "2404:9200:225:100::64"
    assert (d["ipv4"], d["ipv4_prefix_len"], d["psid"], d["psid_len"]) == (
        "106.72.63.108", 32, 212, 8,
    )  # fmt: skip
    ranges = d["port_ranges"]
    assert isinstance(ranges, list) and ranges[0] == [7488, 7503] and len(ranges) == 15
    assert ranges == sorted(ranges)
    assert d["port_count"] == 240
    assert d["ce_ipv6"] == "240b:10:3f6c:d400:6a:483f:6c00:d400"
    assert d["iid"] == "legacy"
    assert d["mtu"] == 1460


def test_forward_human_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "calc", V6PLUS)
    assert code == 0
    for words in (
        "v6plus (JPNE)",
        "106.72.63.108 (shared by 256 CEs)",
        "212 (0xd4), 8 bits",
        "240 in 15 blocks of 16",
        "7488-7503",
        "64832-64847",
        "240b:10:3f6c:d400:6a:483f:6c00:d400 (legacy draft-03 IID)",
        "2404:9200:225:100::64",
        "1460",
    ):
        assert words in out


def test_command_line_rule_defaults_to_rfc_iid(capsys: pytest.CaptureFixture[str]) -> None:
    code, d = run_json(capsys, "calc", "2001:db8:12:3400::/56", *RFC_RULE)
    assert code == 0
    assert (d["ce_ipv6"], d["iid"], d["isp"], d["br"]) == (
        "2001:db8:12:3400:0:c000:212:34", "rfc", None, None,
    )  # fmt: skip
    _, d = run_json(capsys, "calc", "2001:db8:12:3400::/56", *RFC_RULE, "--iid", "legacy")
    assert d["ce_ipv6"] == "2001:db8:12:3400:c0:2:1200:3400"


def test_ipv4_prefix_and_full_address_rules(capsys: pytest.CaptureFixture[str]) -> None:
    rule = ["--rule-ipv6", "2001:db8::/40", "--rule-ipv4", "192.0.2.0/24", "--psid-offset", "0"]
    _, d = run_json(capsys, "calc", "2001:db8:12:3000::/44", *rule, "--ea-len", "4")
    assert (d["ipv4"], d["ipv4_prefix_len"], d["port_count"]) == ("192.0.2.16", 28, 65536)
    code, out, _ = run(capsys, "calc", "2001:db8:12::/48", *rule, "--ea-len", "8")
    assert code == 0 and "192.0.2.18 (not shared)" in out and "0-65535" in out


def test_reverse(capsys: pytest.CaptureFixture[str]) -> None:
    code, d = run_json(capsys, "calc", "--reverse", "106.72.63.108:7490")
    assert code == 0
    assert (d["psid"], d["end_user_prefix"], d["ce_ipv6"], d["iid"]) == (
        212, "240b:10:3f6c:d400::/56", "240b:10:3f6c:d400:6a:483f:6c00:d400", "legacy",
    )  # fmt: skip
    code, out, _ = run(capsys, "calc", "--reverse", "192.0.2.18:1234", *RFC_RULE)
    assert code == 0 and "2001:db8:12:3400:0:c000:212:34" in out


def test_extra_prefix_bits_are_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    _, d = run_json(capsys, "calc", "240b:10:3f6c:d4a0::/60")
    assert d["ce_ipv6"] == "240b:10:3f6c:d4a0:6a:483f:6c00:d400"
    warnings = d["warnings"]
    assert isinstance(warnings, list) and warnings[0]["code"] == "prefix.extra_bits"
    assert "240b:10:3f6c:d400:6a:483f:6c00:d400" in warnings[0]["message"]


def test_wan_address_with_its_length_works(capsys: pytest.CaptureFixture[str]) -> None:
    _, d = run_json(capsys, "calc", "240b:10:3f6c:d400:1234:5678:9abc:def0/64")
    assert d["end_user_prefix"] == "240b:10:3f6c:d400::/64"
    assert d["ipv4"] == "106.72.63.108"


ERRORS = [
    # argv, exit status, reason code, field
    (["calc", "2001:db8::/56"], 5, "lookup.no_rule_for_prefix", "prefix"),
    (["calc", "240b:10:3f6c:d400::"], 3, "input.prefix_length_missing", "prefix"),
    (["calc", "not-a-prefix/56"], 3, "input.prefix_syntax", "prefix"),
    (["calc", "240b:10:3f6c::/48"], 3, "input.end_user_prefix_too_short", "prefix"),
    (["calc", "240b:10:3f6c:d400::/80"], 3, "input.end_user_prefix_too_long", "prefix"),
    (["calc", V6PLUS, "--isp", "nuro"], 3, "input.unknown_isp", "isp"),
    (["calc", V6PLUS, "--isp", "ocn"], 5, "lookup.no_rule_for_prefix", "prefix"),
    (["calc", V6PLUS, "--iid", "x"], 3, "input.unknown_iid", "iid"),
    (["calc", "2001:db8::/56", "--rule-ipv6", "2001:db8::/40"], 2, "usage.incomplete_rule",
     "rule-ipv4"),
    (["calc", "2001:db8::/56", *RFC_RULE[:6], "--psid-offset", "16"], 4,
     "rule.psid_offset_range", "psid_offset"),
    (["calc", "2001:db8::/56", *RFC_RULE, "--isp", "v6plus"], 2, "usage.invalid_arguments",
     "rules"),
    (["calc", "--reverse", "106.72.63.108:80"], 5, "lookup.port_outside_set", "port"),
    (["calc", "--reverse", "106.72.63.108"], 3, "input.port_syntax", "reverse"),
    (["calc", "--reverse", "106.72.63.300:80"], 3, "input.address_syntax", "reverse"),
    (["calc", "--reverse", "192.0.2.1:5000"], 5, "lookup.no_rule_for_ipv4", "ipv4"),
    (["calc"], 2, "usage.invalid_arguments", "prefix"),
    (["calc", V6PLUS, "--reverse", "1.2.3.4:5"], 2, "usage.invalid_arguments", "prefix"),
    (["calc", V6PLUS, "--ea-len", "x"], 2, "usage.invalid_arguments", None),
    (["calc", V6PLUS, "--rules", "/nonexistent/rules.json"], 6, "data.file_unreadable",
     "rules"),
    (["frobnicate"], 2, "usage.invalid_arguments", None),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "status", "code", "field"), ERRORS)
def test_errors_json(
    capsys: pytest.CaptureFixture[str], argv: list[str], status: int, code: str, field: str
) -> None:
    exit_status, d = run_json(capsys, *argv)
    assert exit_status == status
    error = d["error"]
    assert isinstance(error, dict)
    assert (error["reason_code"], error["field"]) == (code, field)
    assert error["message"]


@pytest.mark.parametrize(("argv", "status", "code", "field"), ERRORS)
def test_errors_human_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], status: int, code: str, field: str
) -> None:
    exit_status, out, err = run(capsys, *argv)
    assert exit_status == status
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("mape: error: ") and f"[{code}]" in err


def test_rule_file_option(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(
        '[[rules]]\nisp = "lab"\nipv6_prefix = "2001:db8::/40"\nipv4_prefix = "192.0.2.0/24"\n'
        'ea_len = 16\npsid_offset = 6\nbr = "2001:db8:ffff::1"\n'
    )
    _, d = run_json(capsys, "calc", "2001:db8:12:3400::/56", "--rules", str(path))
    assert (d["isp"], d["br"], d["ipv4"]) == ("lab", "2001:db8:ffff::1", "192.0.2.18")
    _, d = run_json(capsys, "calc", "2001:db8:12:3400::/56", "--rules", str(path), "--isp", "x")
    assert d["error"]["reason_code"] == "input.unknown_isp"  # type: ignore[index]


def test_rules_list_and_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, d = run_json(capsys, "rules", "list", "--isp", "v6plus")
    assert code == 0 and d["count"] == 4
    assert {r["ipv6_prefix"] for r in d["rules"]} >= {"240b:10::/31"}  # type: ignore[attr-defined]
    code, out, _ = run(capsys, "rules", "list")
    assert code == 0 and "690 rules from built-in tables" in out
    code, out, _ = run(capsys, "rules", "check")
    assert code == 0 and "no overlaps" in out
    path = tmp_path / "overlap.json"
    path.write_text(
        json.dumps(
            [
                {
                    "ipv6_prefix": "2001:db8::/32",
                    "ipv4_prefix": "192.0.2.0/24",
                    "ea_len": 16,
                    "psid_offset": 6,
                },
                {
                    "ipv6_prefix": "2001:db8:100::/40",
                    "ipv4_prefix": "198.51.100.0/24",
                    "ea_len": 16,
                    "psid_offset": 6,
                },
            ]
        )
    )
    code, d = run_json(capsys, "rules", "check", "--rules", str(path))
    assert code == 4 and d["overlaps"][0]["family"] == "ipv6"  # type: ignore[index]
    code, _, err = run(capsys, "rules", "check", "--rules", str(path))
    assert code == 4 and "[rule.overlap]" in err


def test_real_process_console_script_and_module() -> None:
    """`mape` and `python -m mapekit` as installed, in a real process."""
    mape = Path(sys.executable).with_name("mape")
    commands = [[str(mape)]] if mape.exists() else []
    commands.append([sys.executable, "-m", "mapekit"])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    for prefix in commands:
        done = subprocess.run(
            [*prefix, "calc", V6PLUS, "--json"], capture_output=True, text=True, env=env,
            check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["ipv4"] == "106.72.63.108"
        done = subprocess.run(
            [*prefix, "calc", "2001:db8::/56"], capture_output=True, text=True, env=env,
            check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert done.returncode == 5
        assert "Traceback" not in done.stderr and done.stdout == ""
